"""How good is a live music model? The builtin-model issue's evaluation, for any backend.

>>> from livemusic_kernel.evaluation import evaluate
>>> report = evaluate("builtin")                 # doctest: +SKIP
>>> print(report.table())                        # doctest: +SKIP

Seven figures, each from its own function in :mod:`.figures` (so one can be
run alone, with other prompts): adherence, transitions, tempo, key, sound,
variety (with determinism) and speed. The prompt sets live in :mod:`.prompts`;
the signal measures (beat tracking, key detection, clicks at joins, how
different two pieces of music are) in :mod:`.measures`. ``lmk eval`` runs it
from the command line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..models import BACKENDS, Backend, available_backends, get_backend
from ..timeline import check_param
from . import figures, measures
from .figures import (
    Adherence,
    Figure,
    Key,
    Progress,
    Sound,
    Speed,
    Tempo,
    Transitions,
    Variety,
    adherence,
    key,
    sound,
    speed,
    tempo,
    transitions,
    variety,
)
from .prompts import BUILTIN_PROMPTS, PromptSets

__all__ = ["evaluate", "Evaluation", "FIGURES", "PromptSets", "BUILTIN_PROMPTS", "Figure", "Progress",
           "StderrProgress", "Adherence", "Transitions", "Tempo", "Key", "Sound", "Variety", "Speed",
           "adherence", "transitions", "tempo", "key", "sound", "variety", "speed", "figures", "measures"]

#: Every figure, in the order it is measured and reported.
FIGURES = ("adherence", "transitions", "tempo", "key", "sound", "variety", "speed")


@dataclass(frozen=True)
class Evaluation:
    """Every figure measured for one backend."""

    backend: str
    seed: int
    quick: bool
    seconds: float   # wall time of the whole evaluation
    figures: tuple[Figure, ...]

    @property
    def passed(self) -> bool:
        return all(figure.passed for figure in self.figures)

    def __getitem__(self, name: str) -> Figure:
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise KeyError(f"no figure {name!r} in this evaluation; it has: "
                       f"{', '.join(f.name for f in self.figures)}")

    def table(self, verbose: bool = False) -> str:
        """Every figure, what it needs and whether it passes; with ``verbose``, every case."""
        sets = "quick sets" if self.quick else "full sets"
        lines = [f"lmk eval: backend {self.backend}, seed {self.seed}, {sets}, {self.seconds:.0f} s",
                 f"{'figure':<12} {'result':<6}  measured  [needs]"]
        for figure in self.figures:
            lines.append(f"{figure.name:<12} {'pass' if figure.passed else 'FAIL':<6}  "
                         f"{figure.measured()}  [needs {figure.needs()}]")
            if verbose:
                lines += [f"    {line}" for line in figure.details()]
        passed = sum(figure.passed for figure in self.figures)
        lines.append(f"{passed} of {len(self.figures)} figures pass")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "seed": self.seed, "quick": self.quick, "seconds": self.seconds,
                "passed": self.passed, "figures": {figure.name: figure.to_dict() for figure in self.figures}}


class StderrProgress:
    """Progress on stderr: a line that updates in place on a terminal; elsewhere
    a line when a figure starts, at each further quarter, and when it is done."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown: dict[str, int] = {}
        self.began: dict[str, float] = {}

    def __call__(self, figure: str, done: int, total: int) -> None:
        now = time.perf_counter()
        began = self.began.setdefault(figure, now)
        quarter = 4 * done // max(total, 1)
        if not self.tty and self.shown.get(figure) == quarter and done < total:
            return
        self.shown[figure] = quarter
        line = f"lmk eval: {figure} {done}/{total} ({now - began:.0f} s)"
        if self.tty:
            print("\r" + line, end="\n" if done >= total else "", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


def _check_only(only: Sequence[str] | None) -> tuple[str, ...]:
    if only is None:
        return FIGURES
    unknown = [name for name in only if name not in FIGURES]
    if unknown or not only:
        raise ValueError(f"unknown figure(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"choose from: {', '.join(FIGURES)}")
    return tuple(name for name in FIGURES if name in only)


def evaluate(backend: str | Backend | None = None, *, quick: bool = False, seed: int = 0,
             prompts: PromptSets | None = None, only: Sequence[str] | None = None,
             progress: Progress | Literal["stderr"] | None = "stderr") -> Evaluation:
    """Measure every figure (or those in ``only``) for ``backend`` (a registry name
    or an instance; the default backend when None).

    ``quick`` shrinks every set (``PromptSets.quick``) to run in seconds;
    ``prompts`` replaces the builtin vocabulary's sets; ``progress(figure, done,
    total)`` hears about every render (``"stderr"``, the default, prints it
    there; None is quiet). Takes minutes with the full sets.
    """
    names = _check_only(only)
    seed = check_param("seed", seed)
    if progress == "stderr":
        progress = StderrProgress()
    sets = prompts or BUILTIN_PROMPTS
    if quick:
        sets = sets.quick()
    instance = get_backend(backend)
    if "speed" in names and instance.name not in BACKENDS:  # found now, not after minutes of the rest
        raise ValueError(f"the speed figure renders in a child process, by registry name, and {instance.name!r} "
                         f"is not registered; add it to livemusic_kernel.models.BACKENDS or leave speed out "
                         f"(only=...); registered: {', '.join(available_backends())}")
    began = time.perf_counter()
    runs: dict[str, Callable[[], Figure]] = {
        "adherence": lambda: adherence(instance, sets.adherence, seconds=sets.adherence_seconds, seed=seed,
                                       progress=progress),
        "transitions": lambda: transitions(instance, sets.transitions, steps=sets.transition_steps,
                                           step_seconds=sets.transition_step_seconds, seed=seed, progress=progress),
        "tempo": lambda: tempo(instance, sets.tempo, sets.tempi, seconds=sets.tempo_seconds, seed=seed,
                               progress=progress),
        "key": lambda: key(instance, sets.key, seconds=sets.key_seconds, seed=seed, progress=progress),
        "sound": lambda: sound(instance, sets.sound, seconds=sets.sound_seconds, seed=seed, progress=progress),
        "variety": lambda: variety(instance, sets.variety, seconds=sets.variety_seconds, seed=seed,
                                   progress=progress),
        "speed": lambda: speed(instance, seconds=sets.speed_seconds, repeats=sets.speed_repeats, progress=progress),
    }
    try:
        results = tuple(runs[name]() for name in names)
    finally:
        if not isinstance(backend, Backend):
            instance.close()  # made here, so released here
    return Evaluation(instance.name, seed, quick, time.perf_counter() - began, results)

