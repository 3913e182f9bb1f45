"""Synthesized performers and the audio-injection figures, shared by the tests and
``benchmarks/injection.py``: does the model follow the key and rhythm a performer plays into
it, without ever playing their audio back, and does looper mode keep the clock's loop?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import AudioClip
from .engine import Engine
from .tempo import TempoMap

__all__ = ["performance", "trial", "Trial", "onset_envelope", "onset_correlation", "containment",
           "looper_alignment", "KEYS"]

RATE = 48000
#: Ten keys of the trials: (tonic pitch class, minor?).
KEYS = ((0, False), (2, True), (4, True), (5, False), (7, False), (9, True), (10, False), (11, True),
        (3, False), (6, True))
#: The performer's syncopated figure, in sixteenths of a bar.
FIGURE = (0, 3, 6, 10, 12, 14)


def performance(tonic: int, minor: bool, seconds: float, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """A performer in a key: plucked triads (i iv v i, or I IV V I) a bar each, a bass note under
    them, and tones on a syncopated figure; stereo float32 at 48 kHz."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * RATE)
    out = np.zeros(frames)
    bar = 4 * 60.0 / bpm
    sixteenth = bar / 16
    third = 3 if minor else 4
    degrees = (0, 5, 7, 0)
    t_note = np.arange(int(sixteenth * 2 * RATE)) / RATE

    def hz(semitones_from_c4: float) -> float:
        return 261.63 * 2 ** (semitones_from_c4 / 12)

    for index in range(int(seconds / bar) + 1):
        root = tonic + degrees[index % 4]
        begin = int(index * bar * RATE)
        if begin >= frames:
            break
        for step in FIGURE:
            at = begin + int(step * sixteenth * RATE)
            if at >= frames:
                continue
            envelope = np.exp(-t_note / 0.08)
            chord = sum(np.sin(2 * np.pi * hz(root + k) * t_note) for k in (0, third, 7))
            bass = np.sin(2 * np.pi * hz(root - 24) * t_note)
            note = (0.12 * chord + 0.2 * bass) * envelope * rng.uniform(0.8, 1.0)
            end = min(at + len(note), frames)
            out[at:end] += note[:end - at]
    return np.repeat(out[:, None], 2, axis=1).astype(np.float32)


def onset_envelope(audio: np.ndarray, hop: int = 480) -> np.ndarray:
    """Rises of the log energy per 10 ms: where sounds start."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    energy = np.add.reduceat(mono.astype(np.float64) ** 2, np.arange(0, len(mono), hop))
    level = np.log10(energy + 1e-9)
    return np.maximum(np.diff(level, prepend=level[0]), 0)


def onset_correlation(played: np.ndarray, output: np.ndarray, max_lag: int = 5) -> float:
    """The best correlation of the two onset envelopes within ``max_lag`` hops (50 ms)."""
    a, b = onset_envelope(played), onset_envelope(output)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b[:n - lag]) if lag >= 0 else (a[:n + lag], b[-lag:])
        denominator = float(np.linalg.norm(x) * np.linalg.norm(y))
        if denominator > 0:
            best = max(best, float(x @ y) / denominator)
    return best


def containment(played: np.ndarray, output: np.ndarray, *, differences: bool = False) -> float:
    """How much of the output is the input itself: the largest normalized cross-correlation of
    the two signals at any lag (1: the input is in the output, at some delay, at some level).

    ``differences=True`` correlates their sample-to-sample differences instead, which weigh every
    frequency alike: for a broadband input (clicks, noise) in music whose energy is in the lows, where
    any two sounds overlap by chance, a copy 20 dB down then stands far above chance. For tonal input
    the raw signals are the better measure."""
    from scipy.signal import correlate

    x = played.mean(axis=1).astype(np.float64)
    y = output.mean(axis=1).astype(np.float64)
    if differences:
        x, y = np.diff(x), np.diff(y)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    peak = np.abs(correlate(y, x, mode="full", method="fft")).max()
    return float(peak / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))


@dataclass(frozen=True)
class Trial:
    """One performance: what the model played after it, with and without the input."""

    key: tuple[int, bool]
    heard_key: tuple[int, bool]       # the output's key after the injection, by the analysis
    baseline_key: tuple[int, bool]    # the output's key without it
    onsets: float                     # onset correlation, input vs output, with injection
    baseline_onsets: float            # the same without injection
    containment: float                # the input in the output, with injection
    baseline_containment: float       # the input in the output, without injection (chance)
    leaked_containment: float         # what containing it would read: the input in the output 20 dB down

    @property
    def followed(self) -> bool:
        return self.heard_key in related(self.key)

    @property
    def baseline_followed(self) -> bool:
        return self.baseline_key in related(self.key)


def related(key: tuple[int, bool]) -> set[tuple[int, bool]]:
    """A key and its relative (A minor and C major)."""
    tonic, minor = key
    return {key, ((tonic + 3) % 12, False) if minor else ((tonic + 9) % 12, True)}


def trial(key: tuple[int, bool], *, prompt: str = "house", inject_seconds: float = 20.0,
          after_seconds: float = 8.0, seed: int = 0, controls: dict | None = None, **engine_options) -> Trial:
    """Inject ``inject_seconds`` of a performance in ``key`` (free mode, from the start) and analyse
    the ``after_seconds`` of output that follow; the same without injection is the baseline.
    ``controls`` are injection controls set with it (``inject_gain``, ``feedback_gain``, ...).

    The default 8 s is the performer's whole four-bar progression at 120 BPM: a key is heard
    over a cadence, not over two chords. The analysis reads the performance itself in its key
    (or the relative) for 10 of the 10 keys over those 8 s, and for none over the first 4 s,
    which hold only its V and I (:func:`input_in_key` measures it)."""
    from .models.builtin.analysis import analyse

    total = inject_seconds + after_seconds
    played = performance(*key, total, seed=seed)

    def render(inject: bool) -> np.ndarray:
        engine = Engine("builtin", sink=None, quiet=True, seed=seed, prompts={"main": prompt}, **engine_options)
        if inject:
            engine.set(**(controls or {}), at_sample=0)
            engine.inject(played, loop=False, at_sample=0)
        out = engine.render(total)
        engine.close()
        return out

    heard, alone = render(True), render(False)
    after = slice(int(inject_seconds * RATE), int(total * RATE))

    def key_of(audio: np.ndarray) -> tuple[int, bool]:
        analysis = analyse(AudioClip.from_array(audio[after], RATE))
        return analysis.tonic, analysis.mode == "minor"

    window = slice(int((inject_seconds - 8) * RATE), int(inject_seconds * RATE))  # the last 8 s of input
    during = slice(0, int(inject_seconds * RATE))
    leak = 0.1 * np.sqrt(np.mean(heard[during] ** 2) / np.mean(played[during] ** 2))
    return Trial(key, key_of(heard), key_of(alone),
                 onset_correlation(played[window], heard[window]), onset_correlation(played[window], alone[window]),
                 containment(played[during], heard[during]), containment(played[during], alone[during]),
                 containment(played[during], heard[during] + leak * played[during]))


def input_in_key(key: tuple[int, bool], *, inject_seconds: float = 20.0, after_seconds: float = 8.0,
                 seed: int = 0) -> bool:
    """Whether the analysis hears the performance itself in ``key`` (or the relative) over the
    window :func:`trial` analyses the output in: the ceiling of what following it can score."""
    from .models.builtin.analysis import analyse

    played = performance(*key, inject_seconds + after_seconds, seed=seed)
    analysis = analyse(AudioClip.from_array(played[int(inject_seconds * RATE):], RATE))
    return (analysis.tonic, analysis.mode == "minor") in related(key)


def looper_alignment(bpm: float = 123.0, loop_beats: int = 4, loops: int = 4, start_beat: int = 4) -> list[int]:
    """Looper mode offline: a performer clicks on each of the clock's loop boundaries; the model
    must hear each click exactly one loop later, on the next boundary. Returns, per click, the
    heard position minus the clock's boundary, in samples."""
    from .models.click import ClickBackend

    class Hearing(ClickBackend):
        def __init__(self):
            self.heard = []

        def hear(self, state, audio, start):
            self.heard.append((start, np.array(audio)))
            return state

    tempo = TempoMap(bpm, RATE)
    begin = tempo.sample_of(start_beat)
    boundaries = [tempo.sample_of(start_beat + k * loop_beats) for k in range(loops + 1)]
    played = np.zeros((boundaries[-1] - begin, 2), np.float32)
    for at in boundaries[:-1]:
        played[at - begin] = 1.0
    backend = Hearing()
    engine = Engine(backend, sink=None, quiet=True, bpm=bpm)
    engine.set(inject_mode="looper", loop_beats=loop_beats, at_sample=0)
    engine.inject(played, loop=False, at_beat=start_beat)
    engine.render(boundaries[-1] / RATE + 4 * loop_beats * 60 / bpm)
    engine.close()
    clicks = sorted(start + int(i) for start, audio in backend.heard for i in np.flatnonzero(audio[:, 0]))
    expected = boundaries[1:] + [tempo.sample_of(start_beat + (loops + 1) * loop_beats)]
    return [heard - want for heard, want in zip(clicks, expected[:len(clicks)], strict=True)] + \
        [None] * (loops - len(clicks))
