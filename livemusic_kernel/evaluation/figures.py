"""The figures of the builtin-model issue, one function each, for any backend.

Every function renders offline with the real engine, measures, and returns a
frozen dataclass holding the figures, every case behind them, the issue's
thresholds and whether they are met. A figure that misses is a measurement,
not an error: nothing here raises because a model is weak.

Outputs are compared with prompts the way the papers do (the live music
models paper, §3.2): the output's audio is embedded by the backend's own audio
embedder and compared with the prompt's text embedding by
:meth:`Backend.similarity`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..audio import AudioClip
from ..engine import Engine
from ..loudness import integrated_loudness, true_peak
from ..models import Backend, get_backend
from ..style import Style, lerp
from . import measures
from .prompts import BUILTIN_PROMPTS

__all__ = ["Figure", "Progress", "EVAL_BPM", "SOUND_BPM",
           "Adherence", "AdherenceCase", "adherence", "Transitions", "TransitionCase", "transitions",
           "Tempo", "TempoCase", "tempo", "Key", "KeyCase", "key", "Sound", "SoundCase", "sound",
           "Variety", "VarietyCase", "variety", "Speed", "speed", "render"]

#: ``progress(figure, done, total)``: called as each render of a figure is measured.
Progress = Callable[[str, int, int], None]

#: The clock for every render but the tempo test's: the engine's default tempo.
EVAL_BPM = 120.0
#: The sound test's tempo: its beats fall between block joins (1920-frame blocks at 48 kHz
#: would put every downbeat at 120 BPM exactly on a join, and an accented onset there would
#: read as a click).
SOUND_BPM = 113.0


class Figure:
    """What every figure can say about itself."""

    name: ClassVar[str]

    @property
    def passed(self) -> bool:
        raise NotImplementedError

    def measured(self) -> str:
        """The figures, in one line."""
        raise NotImplementedError

    def needs(self) -> str:
        """The issue's thresholds, in one line."""
        raise NotImplementedError

    def details(self) -> list[str]:
        """One line per case."""
        return [case.describe() for case in getattr(self, "cases", ())]

    def to_dict(self) -> dict:
        return _plain({"name": self.name, "passed": self.passed, "measured": self.measured(),
                       "needs": self.needs(), **dataclasses.asdict(self)})


def _plain(value):
    """JSON-ready: non-finite floats become None (JSON has no infinity)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- rendering ---------------------------------------------------------------------------------------

def render(backend: Backend, prompt: str | Style, seconds: float, *, bpm: float | None = None, seed: int = 0,
           changes: Sequence[tuple[int, Style]] = ()) -> np.ndarray:
    """Render ``seconds`` of ``prompt`` offline with a fresh engine; ``changes``
    are ``(sample, style)`` pairs posted before rendering.

    Without ``bpm`` the clock plays each style at the tempo the backend says it is
    usually played at (:meth:`Backend.preferred_bpm`; :data:`EVAL_BPM` for backends
    without one), and follows each change's style, as a live coder sets the clock
    for a tempo-locked model; a backend that chooses its own tempo ignores the clock.
    """
    style = backend.embed(prompt) if not isinstance(prompt, Style) else prompt
    follow = bpm is None
    engine = Engine(backend, sink=None, quiet=True, bpm=bpm or backend.preferred_bpm(style) or EVAL_BPM, seed=seed)
    engine.set_prompt("main", prompt)
    for sample, style in changes:
        engine.set_style(style, at_sample=sample)
        if follow and (preferred := backend.preferred_bpm(style)) is not None:
            engine.set_bpm(preferred, at_sample=sample)
    # The engine is not closed: closing would close the backend, which the next render shares.
    return engine.render(seconds)


def _listen(backend: Backend, audio: np.ndarray) -> Style:
    """The backend's audio embedding of an output."""
    return backend.embed(AudioClip.from_array(audio, backend.sample_rate))


def _tell(progress: Progress | None, figure: str, done: int, total: int) -> None:
    if progress is not None:
        progress(figure, done, total)


def _share(flags: Sequence[bool]) -> float:
    return sum(map(bool, flags)) / len(flags) if flags else 0.0


def _check_count(items: Sequence, least: int, what: str) -> None:
    if len(items) < least:
        raise ValueError(f"{what} needs at least {least} cases, got {len(items)}")


# -- adherence -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdherenceCase:
    prompt: str
    own: float       # similarity of the output to its own prompt
    others: float    # mean similarity to the other prompts
    nearest: str     # the prompt most similar to the output (another one when own ties with it)
    rank: int        # where its own prompt ranks (1: nearest; ties count against it)

    def describe(self) -> str:
        mark = "ok " if self.rank == 1 else "   "
        return (f"{mark}{self.prompt:<24} own {self.own:+.3f}  others {self.others:+.3f}  "
                f"nearest {self.nearest!r} (own ranks {self.rank})")


@dataclass(frozen=True)
class Adherence(Figure):
    """The live music models paper's text-adherence check (§3.2.1), CLAP-style:
    is the prompt nearest each output its own, and by how much."""

    name: ClassVar[str] = "adherence"
    accuracy: float      # share of outputs whose nearest prompt is their own
    margin: float        # mean similarity to the own prompt minus mean similarity to the others
    seconds: float
    cases: tuple[AdherenceCase, ...]
    min_accuracy: float = 0.5
    min_margin: float = 0.15

    @property
    def passed(self) -> bool:
        return self.accuracy >= self.min_accuracy and self.margin >= self.min_margin

    def measured(self) -> str:
        right = sum(case.rank == 1 for case in self.cases)
        return (f"own prompt nearest for {right}/{len(self.cases)} ({self.accuracy:.0%}); "
                f"own minus others {self.margin:+.3f}")

    def needs(self) -> str:
        return f">= {self.min_accuracy:.0%}; >= {self.min_margin:+.2f}"


def adherence(backend: str | Backend, prompts: Sequence[str] = BUILTIN_PROMPTS.adherence, *,
              seconds: float = BUILTIN_PROMPTS.adherence_seconds, seed: int = 0, bpm: float | None = None,
              progress: Progress | None = None) -> Adherence:
    """Render ``seconds`` of each prompt (at its own tempo unless ``bpm`` is given; see
    :func:`render`), embed each output, and compare it with every prompt."""
    _check_count(prompts, 2, "adherence")
    backend = get_backend(backend)
    _tell(progress, "adherence", 0, len(prompts))
    texts = [backend.embed(prompt) for prompt in prompts]
    outputs = []
    for done, prompt in enumerate(prompts, 1):
        outputs.append(_listen(backend, render(backend, prompt, seconds, bpm=bpm, seed=seed)))
        _tell(progress, "adherence", done, len(prompts))
    similarity = np.array([[backend.similarity(output, text) for text in texts] for output in outputs])
    cases = []
    for i, prompt in enumerate(prompts):
        row = similarity[i]
        others = np.delete(row, i)
        rank = 1 + int(np.sum(others >= row[i]))
        rival = int(np.argmax(others))
        nearest = prompt if rank == 1 else prompts[rival + (rival >= i)]
        cases.append(AdherenceCase(prompt, float(row[i]), float(others.mean()), nearest, rank))
    own = np.mean([case.own for case in cases])
    off_diagonal = similarity[~np.eye(len(prompts), dtype=bool)].mean()
    return Adherence(_share([case.rank == 1 for case in cases]), float(own - off_diagonal), seconds, tuple(cases))


# -- transitions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransitionCase:
    start: str
    end: str
    to_start: tuple[float, ...]    # similarity of each step's output to the start prompt
    to_end: tuple[float, ...]      # ... to the end prompt
    to_target: tuple[float, ...]   # ... to the style the model was given during that step
    rho_start: float               # Spearman rho of to_start over the steps (-1: falls throughout)
    rho_end: float                 # ... of to_end (1: rises throughout)

    def describe(self) -> str:
        rows = " ".join(f"{s:+.3f}/{e:+.3f}" for s, e in zip(self.to_start, self.to_end, strict=True))
        return (f"{self.start + ' -> ' + self.end:<34} rho to end {self.rho_end:+.2f}, "
                f"to start {self.rho_start:+.2f}; start/end by step: {rows}")


@dataclass(frozen=True)
class Transitions(Figure):
    """The paper's prompt-transition protocol (§3.2.2): interpolate from prompt A
    to prompt B in equal steps, embed each step's output, and follow its
    similarity to A (should fall) and to B (should rise)."""

    name: ClassVar[str] = "transitions"
    rho_end: float       # mean over pairs
    rho_start: float
    to_target: float     # mean similarity to the conditioning in force (the paper's right panel)
    steps: int
    step_seconds: float
    cases: tuple[TransitionCase, ...]
    min_rho_end: float = 0.8
    max_rho_start: float = -0.8

    @property
    def passed(self) -> bool:
        return self.rho_end >= self.min_rho_end and self.rho_start <= self.max_rho_start

    def measured(self) -> str:
        return (f"Spearman rho to B {self.rho_end:+.2f}, to A {self.rho_start:+.2f} "
                f"({len(self.cases)} pairs, {self.steps} steps of {self.step_seconds:g} s); "
                f"similarity to the conditioning {self.to_target:+.3f}")

    def needs(self) -> str:
        return f"to B >= {self.min_rho_end:+.1f}; to A <= {self.max_rho_start:+.1f}"


def transitions(backend: str | Backend, pairs: Sequence[tuple[str, str]] = BUILTIN_PROMPTS.transitions, *,
                steps: int = BUILTIN_PROMPTS.transition_steps,
                step_seconds: float = BUILTIN_PROMPTS.transition_step_seconds, seed: int = 0,
                bpm: float | None = None, progress: Progress | None = None) -> Transitions:
    """For each pair, hold ``lerp(A, B, k / (steps - 1))`` for step ``k`` (the clock
    moving with it unless ``bpm`` is given; see :func:`render`), from
    exactly A to exactly B, each step ``step_seconds`` long, landing on its sample."""
    _check_count(pairs, 1, "transitions")
    if steps < 2:
        raise ValueError(f"a transition needs at least 2 steps, got {steps}")
    backend = get_backend(backend)
    frames = int(round(step_seconds * backend.sample_rate))
    _tell(progress, "transitions", 0, len(pairs))
    cases = []
    for done, (start, end) in enumerate(pairs, 1):
        a, b = backend.embed(start), backend.embed(end)
        targets = [lerp(a, b, k / (steps - 1)) for k in range(steps)]
        audio = render(backend, a, steps * step_seconds, bpm=bpm, seed=seed,
                       changes=[(k * frames, target) for k, target in enumerate(targets)])
        heard = [_listen(backend, audio[k * frames:(k + 1) * frames]) for k in range(steps)]
        to_a = tuple(backend.similarity(h, a) for h in heard)
        to_b = tuple(backend.similarity(h, b) for h in heard)
        to_target = tuple(backend.similarity(h, t) for h, t in zip(heard, targets, strict=True))
        cases.append(TransitionCase(start, end, to_a, to_b, to_target,
                                    measures.spearman(to_a), measures.spearman(to_b)))
        _tell(progress, "transitions", done, len(pairs))
    return Transitions(float(np.mean([c.rho_end for c in cases])), float(np.mean([c.rho_start for c in cases])),
                       float(np.mean([c.to_target for c in cases])), steps, step_seconds, tuple(cases))


# -- tempo -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TempoCase:
    prompt: str
    bpm: float        # the engine's clock
    measured: float   # the rate of the beats librosa's beat tracker tracked
    estimate: float   # the beat tracker's own (coarse) tempo estimate
    verdict: str      # right, half, double, wrong

    def describe(self) -> str:
        return (f"{self.verdict:<6} {self.prompt:<20} clock {self.bpm:6.1f}  beats at {self.measured:6.1f} BPM  "
                f"(tracker's estimate {self.estimate:.1f})")


@dataclass(frozen=True)
class Tempo(Figure):
    """Does an independent beat tracker (librosa's, its defaults) hear the clock's
    tempo? Measured as the rate of its tracked beats (see :func:`measures.beat_tempo`)."""

    name: ClassVar[str] = "tempo"
    right: float      # share within the tolerance of the clock's tempo
    half: float       # octave errors, reported apart
    double: float
    seconds: float
    cases: tuple[TempoCase, ...]
    tolerance: float = 0.02
    min_right: float = 0.9

    @property
    def passed(self) -> bool:
        return self.right >= self.min_right

    def measured(self) -> str:
        return (f"within {self.tolerance:.0%} for {self.right:.0%} of {len(self.cases)} renders; "
                f"octave errors: half {self.half:.0%}, double {self.double:.0%}")

    def needs(self) -> str:
        return f">= {self.min_right:.0%} within {self.tolerance:.0%}"


def tempo(backend: str | Backend, prompts: Sequence[str] = BUILTIN_PROMPTS.tempo,
          tempi: Sequence[float] = BUILTIN_PROMPTS.tempi, *, seconds: float = BUILTIN_PROMPTS.tempo_seconds,
          seed: int = 0, tolerance: float = 0.02, progress: Progress | None = None) -> Tempo:
    """Render every prompt at every tempo and track its beat."""
    _check_count(prompts, 1, "tempo")
    _check_count(tempi, 1, "tempo")
    backend = get_backend(backend)
    cases = []
    total = len(prompts) * len(tempi)
    _tell(progress, "tempo", 0, total)
    for prompt in prompts:
        for bpm in tempi:
            heard, estimate = measures.beat_tempo(render(backend, prompt, seconds, bpm=bpm, seed=seed),
                                                  backend.sample_rate)
            cases.append(TempoCase(prompt, float(bpm), heard, estimate, measures.tempo_verdict(heard, bpm, tolerance)))
            _tell(progress, "tempo", len(cases), total)
    verdicts = [case.verdict for case in cases]
    return Tempo(*(_share([v == kind for v in verdicts]) for kind in ("right", "half", "double")),
                 seconds, tuple(cases), tolerance)


# -- key -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyCase:
    prompt: str
    expected: str
    found: str
    strength: float   # correlation of the best key profile with the chroma
    verdict: str      # exact, relative (both right), parallel, fifth, wrong, none

    def describe(self) -> str:
        return f"{self.verdict:<8} {self.prompt:<28} found {self.found:<9} (r = {self.strength:+.2f})"


@dataclass(frozen=True)
class Key(Figure):
    """Does chroma-based key detection (librosa's constant-Q chroma against
    Krumhansl-Kessler profiles) find the key the prompt asked for, or its relative?"""

    name: ClassVar[str] = "key"
    right: float      # exact or relative
    exact: float
    seconds: float
    cases: tuple[KeyCase, ...]
    min_right: float = 0.8

    @property
    def passed(self) -> bool:
        return self.right >= self.min_right

    def measured(self) -> str:
        confusions = {}
        for case in self.cases:
            if case.verdict not in ("exact", "relative"):
                confusions[case.verdict] = confusions.get(case.verdict, 0) + 1
        missed = ", ".join(f"{kind} {count}" for kind, count in sorted(confusions.items())) or "none"
        return (f"key or relative for {self.right:.0%} of {len(self.cases)} (exact {self.exact:.0%}); "
                f"misses: {missed}")

    def needs(self) -> str:
        return f">= {self.min_right:.0%}"


def key(backend: str | Backend, prompts: Sequence[tuple[str, str]] = BUILTIN_PROMPTS.key, *,
        seconds: float = BUILTIN_PROMPTS.key_seconds, seed: int = 0, bpm: float | None = None,
        progress: Progress | None = None) -> Key:
    """Render each ``(prompt, key)`` and detect the key of the output."""
    _check_count(prompts, 1, "key")
    expected_keys = [measures.parse_key(expected) for _, expected in prompts]
    backend = get_backend(backend)
    _tell(progress, "key", 0, len(prompts))
    cases = []
    for (prompt, expected), wanted in zip(prompts, expected_keys, strict=True):
        found, strength = measures.detect_key(render(backend, prompt, seconds, bpm=bpm, seed=seed),
                                              backend.sample_rate)
        cases.append(KeyCase(prompt, expected, str(found) if found else "no key", strength,
                             measures.key_verdict(found, wanted)))
        _tell(progress, "key", len(cases), len(prompts))
    return Key(_share([c.verdict in ("exact", "relative") for c in cases]),
               _share([c.verdict == "exact" for c in cases]), seconds, tuple(cases))


# -- sound -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SoundCase:
    prompt: str
    finite: bool
    true_peak: float     # dBTP
    loudness: float      # LUFS, integrated
    join_step: float     # the largest sample step at a join between generated pieces
    other_step: float    # the largest sample step anywhere else

    def describe(self) -> str:
        return (f"{self.prompt:<24} finite {'yes' if self.finite else 'NO '}  true peak {self.true_peak:6.1f} dBTP  "
                f"loudness {self.loudness:6.1f} LUFS  largest step at joins {self.join_step:.4f}, "
                f"elsewhere {self.other_step:.4f}")


@dataclass(frozen=True)
class Sound(Figure):
    """Is every output finite, below -1 dBTP, at a sensible loudness, and free of
    clicks where generated pieces join?"""

    name: ClassVar[str] = "sound"
    seconds: float
    block_size: int
    cases: tuple[SoundCase, ...]
    max_true_peak: float = -1.0
    loudness_range: tuple[float, float] = (-20.0, -12.0)

    @property
    def finite(self) -> bool:
        return all(case.finite for case in self.cases)

    @property
    def peaks_ok(self) -> bool:
        return all(case.true_peak <= self.max_true_peak for case in self.cases)

    @property
    def loudness_ok(self) -> bool:
        low, high = self.loudness_range
        return all(low <= case.loudness <= high for case in self.cases)

    @property
    def joins_ok(self) -> bool:
        return all(case.join_step <= case.other_step for case in self.cases)

    @property
    def passed(self) -> bool:
        return self.finite and self.peaks_ok and self.loudness_ok and self.joins_ok

    def measured(self) -> str:
        finite = [c for c in self.cases if c.finite]
        peak = max((c.true_peak for c in finite), default=math.nan)
        loudness = [c.loudness for c in finite]
        low, high = (min(loudness), max(loudness)) if loudness else (math.nan, math.nan)
        clicks = sum(c.join_step > c.other_step for c in self.cases)
        return (f"{len(finite)}/{len(self.cases)} finite; true peak max {peak:.1f} dBTP; "
                f"loudness {low:.1f} to {high:.1f} LUFS; {clicks} with a larger step at a join")

    def needs(self) -> str:
        low, high = self.loudness_range
        return f"all finite; <= {self.max_true_peak:g} dBTP; {low:g} to {high:g} LUFS; none"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "finite": self.finite, "peaks_ok": self.peaks_ok,
                "loudness_ok": self.loudness_ok, "joins_ok": self.joins_ok}


def sound(backend: str | Backend, prompts: Sequence[str | tuple[str, str]] = BUILTIN_PROMPTS.sound, *,
          seconds: float = BUILTIN_PROMPTS.sound_seconds, seed: int = 0, bpm: float = SOUND_BPM,
          steps: int = 6, progress: Progress | None = None) -> Sound:
    """Render each prompt (or ``(a, b)`` pair, as a morph in ``steps`` steps) and
    measure finiteness, true peak, integrated loudness and the steps at joins."""
    _check_count(prompts, 1, "sound")
    backend = get_backend(backend)
    block_size = Engine(backend, sink=None, quiet=True).block_size  # what the renders below will use
    _tell(progress, "sound", 0, len(prompts))
    cases = []
    for case in prompts:
        frames = int(round(seconds * backend.sample_rate))
        changes: list[tuple[int, Style]] = []
        if isinstance(case, tuple):
            a, b = (backend.embed(p) for p in case)
            changes = [(k * frames // steps, lerp(a, b, k / (steps - 1))) for k in range(1, steps)]
            label, prompt = " -> ".join(case), a
        else:
            label, prompt = case, case
        audio = render(backend, prompt, seconds, bpm=bpm, seed=seed, changes=changes)
        finite = bool(np.all(np.isfinite(audio)))
        if finite:
            joins = np.concatenate([measures.block_joins(len(audio), block_size), [s for s, _ in changes]])
            cases.append(SoundCase(label, True, true_peak(audio, backend.sample_rate),
                                   integrated_loudness(audio, backend.sample_rate), *measures.join_steps(audio, joins)))
        else:
            cases.append(SoundCase(label, False, math.nan, math.nan, math.nan, math.nan))
        _tell(progress, "sound", len(cases), len(prompts))
    return Sound(seconds, block_size, tuple(cases))


# -- variety and determinism ------------------------------------------------------------------------

@dataclass(frozen=True)
class VarietyCase:
    prompt: str
    identical: bool   # the same seed rendered twice gave the same bytes
    within: float     # material distance between the two halves of one render (mean over both seeds)
    across: float     # material distance between the two seeds' renders, half by half
    ratio: float      # across / within
    #: The same two figures view by view: {"timbre": (within, across), "harmony": ..., "rhythm": ...}.
    views: dict[str, tuple[float, float]]

    def describe(self) -> str:
        same = "identical" if self.identical else "DIFFERENT"
        views = ", ".join(f"{name} {w:.2f}/{a:.2f}" for name, (w, a) in self.views.items())
        return (f"{self.prompt:<20} same seed: {same}; seeds differ by {self.across:.3f}, "
                f"halves of one render by {self.within:.3f} ({self.ratio:.1f}x); halves/seeds by view: {views}")


@dataclass(frozen=True)
class Variety(Figure):
    """The same seed gives the same bytes; another seed gives other music.

    "Other music" is measured as a listener would tell it: sixteenth note by
    sixteenth note on the bar grid, the sound (log-mel spectrum), the harmony
    (chroma) and the rhythm (onset strength) of two renders are compared with
    :func:`measures.material_distance` (0 = the same, about 1 = unrelated).
    Two seeds must differ ``min_ratio`` times more than the two halves of one
    render differ (so a model that merely drifts over time does not pass for
    varied), and by at least ``min_distance``. Unrelated music is about 1 apart,
    so passing asks for renders that keep their material over the 8 bars
    (halves within about 0.5) and seeds that change it.
    """

    name: ClassVar[str] = "variety"
    identical: float   # share of prompts whose same-seed renders were identical
    varied: float      # share of prompts whose seeds gave other music
    seconds: float
    seeds: tuple[int, int]
    cases: tuple[VarietyCase, ...]
    min_ratio: float = 2.0
    min_distance: float = 0.1

    @property
    def passed(self) -> bool:
        return self.identical == 1.0 and self.varied == 1.0

    def measured(self) -> str:
        ratios = sorted(case.ratio for case in self.cases)
        return (f"same seed identical for {self.identical:.0%}; seeds {self.seeds[0]} and {self.seeds[1]} "
                f"differ {ratios[len(ratios) // 2]:.1f}x more than halves of a render (median; "
                f"least {ratios[0]:.1f}x), other music for {self.varied:.0%} of {len(self.cases)}")

    def needs(self) -> str:
        return f"100%; >= {self.min_ratio:g}x and >= {self.min_distance:g} for 100%"


def variety(backend: str | Backend, prompts: Sequence[str] = BUILTIN_PROMPTS.variety, *,
            seconds: float = BUILTIN_PROMPTS.variety_seconds, seed: int = 0, bpm: float = EVAL_BPM,
            min_ratio: float = 2.0, min_distance: float = 0.1, progress: Progress | None = None) -> Variety:
    """Render each prompt three times: twice with ``seed`` (to compare bytes), once with another."""
    _check_count(prompts, 1, "variety")
    backend = get_backend(backend)
    rate = backend.sample_rate
    bar = 4 * 60.0 / bpm * rate
    bars = int(seconds * rate / bar + 1e-9)
    if bars < 2:
        raise ValueError(f"variety compares halves of whole bars: {seconds:g} s at {bpm:g} BPM "
                         f"holds {bars} bar(s); give at least {2 * bar / rate:g} s")
    half = bars // 2 * 16  # sixteenths in half of the whole bars
    # One more bar before and after, left out of the comparison: the analysis of the very
    # first and last moments of a render (no past, a cut) is not the music's.
    length = (2 * (bars // 2) + 2) * bar / rate
    other = (seed + 1) % 2**63
    _tell(progress, "variety", 0, len(prompts))
    cases = []
    for prompt in prompts:
        first = render(backend, prompt, length, bpm=bpm, seed=seed)
        again = render(backend, prompt, length, bpm=bpm, seed=seed)
        second = render(backend, prompt, length, bpm=bpm, seed=other)
        x = measures.halves(measures.material(first, rate, bpm), half, start=16)
        y = measures.halves(measures.material(second, rate, bpm), half, start=16)
        pairs = {"within": [(x[0], x[1]), (y[0], y[1])], "across": [(x[0], y[0]), (x[1], y[1])]}
        views = {kind: [measures.view_distances(a, b) for a, b in both] for kind, both in pairs.items()}
        by_view = {name: tuple(float(np.mean([d[name] for d in views[kind]])) for kind in ("within", "across"))
                   for name in measures.VIEWS}
        within = float(np.mean([w for w, _ in by_view.values()]))
        across = float(np.mean([a for _, a in by_view.values()]))
        ratio = across / within if within > 0 else (math.inf if across > 0 else 1.0)
        cases.append(VarietyCase(prompt, first.tobytes() == again.tobytes(), within, across, ratio, by_view))
        _tell(progress, "variety", len(cases), len(prompts))
    varied = [c.across >= min_ratio * c.within and c.across >= min_distance for c in cases]
    return Variety(_share([c.identical for c in cases]), _share(varied), seconds, (seed, other), tuple(cases),
                   min_ratio, min_distance)


# -- speed -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Speed(Figure):
    """Offline render speed on one core (a child process pinned to it, every thread
    pool at one thread), against the click model in the same run."""

    name: ClassVar[str] = "speed"
    backend: str
    times_real_time: float      # median
    slowest: float
    fastest: float
    baseline: str
    baseline_times_real_time: float
    seconds: float
    repeats: int
    cpu: int | None
    min_times_real_time: float = 30.0

    @property
    def passed(self) -> bool:
        return self.times_real_time >= self.min_times_real_time

    def measured(self) -> str:
        core = f"core {self.cpu}" if self.cpu is not None else "unpinned"
        return (f"median {self.times_real_time:.0f}x real time ({self.slowest:.0f}x to {self.fastest:.0f}x, "
                f"{self.repeats} renders of {self.seconds:g} s, {core}); {self.baseline} "
                f"{self.baseline_times_real_time:.0f}x")

    def needs(self) -> str:
        return f">= {self.min_times_real_time:g}x"

    def details(self) -> list[str]:
        return []


def speed(backend: str | Backend, *, seconds: float = BUILTIN_PROMPTS.speed_seconds,
          repeats: int = BUILTIN_PROMPTS.speed_repeats, baseline: str = "click",
          progress: Progress | None = None) -> Speed:
    """Measure with :func:`livemusic_kernel.bench.measure_render_speed` (by registry name)."""
    from ..bench import measure_render_speed

    name = backend.name if isinstance(backend, Backend) else str(backend)
    _tell(progress, "speed", 0, 2)
    ours = measure_render_speed(seconds, name, repeats=repeats)
    _tell(progress, "speed", 1, 2)
    theirs = measure_render_speed(seconds, baseline, repeats=repeats)
    _tell(progress, "speed", 2, 2)
    return Speed(name, ours["times_real_time"], ours["slowest_times"], ours["fastest_times"], baseline,
                 theirs["times_real_time"], seconds, repeats, ours["cpu"])
