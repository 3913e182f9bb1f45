"""Clocks: time, tempo, and scheduling in beats and bars.

One base class, two variants, one code path:

* :class:`LiveClock` reads the monotonic wall clock. While the engine streams,
  a scheduler thread runs your callbacks a little ahead of the music (the
  ``lookahead``, counted from the engine's horizon), so the changes they post
  land on the exact sample of their beat. Callbacks never run on the audio
  path.
* :class:`OfflineClock` holds a time that only moves when told to. The engine
  runs due callbacks from its render loop, before it generates the block they
  fall in: offline rendering and tests get the same behaviour, faster than
  real time and deterministic.

Inside a callback, a change posted without a time lands on the callback's
beat, so ``clock.every(4, lambda: engine.set_prompt("a", "techno"))`` changes
the prompt exactly on every fourth beat. A callback that returns a number is
called again that many beats later (as in SuperCollider's ``TempoClock``).
Every scheduling call returns a handle that cancels it. A callback that raises
is reported with its traceback and the music goes on (an ``every`` keeps
running).

Beats count from 0 at the engine's first sample; bars are ``beats_per_bar``
beats, also from 0. Positions are exact :class:`~fractions.Fraction` s.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import math
import re
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Real
from typing import TYPE_CHECKING, Any

from .tempo import to_fraction

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Clock", "LiveClock", "OfflineClock", "ClockHandle", "parse_quant"]

_QUANT = re.compile(r"^\s*(\d+(?:\.\d+)?|\d+/\d+)\s*(m|b)?\s*$", re.IGNORECASE)


def parse_quant(quant: Real | str, beats_per_bar: int) -> Fraction:
    """A quantum in beats: a number of beats (``4``, ``0.5``, ``"1/4"``) or of
    bars (``"1M"``, ``"2M"``)."""
    if isinstance(quant, str):
        match = _QUANT.match(quant)
        if not match:
            raise ValueError(f"bad quant {quant!r}: give beats (4, 0.5, '1/4', '2b') or bars ('1M', '2M')")
        value = Fraction(match.group(1))
        if (match.group(2) or "").lower() == "m":
            value *= beats_per_bar
    else:
        value = to_fraction(quant)
    if value <= 0:
        raise ValueError(f"a quant is a positive number of beats or bars, got {quant!r}")
    return value


@dataclass(frozen=True)
class ClockHandle:
    """Returned by every scheduling call; :meth:`cancel` stops it (repeats too)."""

    seq: int
    clock: Clock = field(repr=False)

    def cancel(self) -> None:
        self.clock._cancel(self.seq)


@dataclass(frozen=True)
class _Task:
    seq: int
    fn: Callable[..., Any]
    wants_beat: bool
    period: Fraction | None = None  # an every(): the beats between calls


def _wants_beat(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` takes a positional argument (it then gets the beat)."""
    if not callable(fn):
        raise TypeError(f"expected a function to schedule, got {type(fn).__name__}")
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               and p.default is p.empty for p in parameters)


class Clock(ABC):
    """A source of time, and a scheduler of callbacks in beats.

    The musical side needs an engine: an engine adopts its clock when it is
    made (``Engine(clock=...)``, or the default one), after which
    ``engine.clock`` schedules on it.
    """

    #: True when time passes by itself (the engine then paces generation).
    live: bool = False

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._queue: list[tuple[Fraction, int, _Task]] = []
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        #: Callbacks that raised, and the newest error.
        self.errors = 0
        self.last_error: str | None = None

    # -- time ---------------------------------------------------------------------
    @abstractmethod
    def now(self) -> float:
        """The current time in seconds (an arbitrary but fixed origin)."""

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""

    # -- the music ------------------------------------------------------------------
    def _attach(self, engine: Engine) -> None:
        if self._engine is not None and self._engine is not engine:
            raise ValueError("this clock already drives another engine; give each engine its own clock")
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("this clock is not attached to an engine: pass it as Engine(clock=...)")
        return self._engine

    @property
    def bpm(self) -> float:
        return self.engine.bpm

    @property
    def beats_per_bar(self) -> int:
        """The newest meter set: bars given to at(), cue() and every() count in it."""
        return self.engine.beats_per_bar

    @property
    def beat(self) -> Fraction:
        """The beat being heard now, exactly."""
        return self.engine.beat

    @property
    def bar(self) -> Fraction:
        """The bar being heard now, exactly (bar 0 is the first)."""
        return self.beat / self.beats_per_bar

    @property
    def horizon(self) -> Fraction:
        """The earliest beat a change submitted now can still land on."""
        return self.engine.tempo.beat_at(self.engine.horizon)

    def next_beat(self, quant: Real | str = "1M") -> Fraction:
        """The first multiple of ``quant`` at or after the horizon."""
        step = parse_quant(quant, self.beats_per_bar)
        return math.ceil(self.horizon / step) * step

    def set_tempo(self, bpm: Real, *, at_beat: Real | None = None, ramp_beats: Real | None = None):
        """Change tempo now, on a beat, or gliding over ``ramp_beats`` beats."""
        return self.engine.set_bpm(bpm, at_beat=at_beat, ramp_beats=ramp_beats)

    # -- scheduling ----------------------------------------------------------------
    def at(self, fn: Callable | None = None, *, bar: Real = 0, beat: Real = 0):
        """Call ``fn`` at ``bar`` and ``beat`` (beat ``bar * beats_per_bar + beat``).

        Without ``fn`` it returns a decorator: ``@clock.at(bar=8)``.
        """
        position = to_fraction(bar) * self.beats_per_bar + to_fraction(beat)
        if position < 0:
            raise ValueError(f"bar and beat give a position before the start: beat {float(position):g}")
        if fn is None:
            return lambda f: self._schedule(f, position)
        return self._schedule(fn, position)

    def cue(self, fn: Callable | None = None, *, quant: Real | str = "1M"):
        """Call ``fn`` on the next ``quant`` boundary (default: the next bar)."""
        if fn is None:
            return lambda f: self.cue(f, quant=quant)
        return self._schedule(fn, self.next_beat(quant))

    def every(self, beats: Real | str, fn: Callable | None = None, *, quant: Real | str | None = None,
              start: Real | None = None):
        """Call ``fn`` every ``beats`` beats (or ``"1M"`` bars), from ``start``
        or the next multiple of ``quant`` (default: of ``beats``)."""
        period = parse_quant(beats, self.beats_per_bar)
        if fn is None:
            return lambda f: self.every(beats, f, quant=quant, start=start)
        first = to_fraction(start) if start is not None else self.next_beat(quant or period)
        return self._schedule(fn, first, period)

    def sequence(self, values: Sequence[Any], *, every: Real | str = "1M", slot: str | None = None,
                 to: Callable[[Any], Any] | None = None, morph: Real | None = None,
                 quant: Real | str | None = None, start: Real | None = None) -> ClockHandle:
        """Step through ``values`` one per ``every``, round and round.

        With ``slot``, each value is a prompt for that slot (with ``morph``,
        reached by a morph over that many beats); with ``to``, each value is
        passed to ``to``. A value may itself be a function, called with the
        beat. Cancel the returned handle to stop.
        """
        values = list(values)
        if not values:
            raise ValueError("sequence() needs at least one value")
        if (slot is None) == (to is None):
            raise ValueError("sequence() needs slot= (a prompt slot) or to= (a function), not both")
        engine = self.engine
        counter = itertools.count()

        def step(beat: Fraction) -> None:
            value = values[next(counter) % len(values)]
            if callable(value):
                value(beat)
            elif to is not None:
                to(value)
            elif morph:
                engine.morph({slot: value}, beats=morph)
            else:
                engine.set_prompt(slot, value)

        return self.every(every, step, quant=quant, start=start)

    def _schedule(self, fn: Callable, beat: Fraction, period: Fraction | None = None) -> ClockHandle:
        task = _Task(next(self._seq), fn, _wants_beat(fn), period)
        with self._lock:
            heapq.heappush(self._queue, (beat, task.seq, task))
        return ClockHandle(task.seq, self)

    def _cancel(self, seq: int) -> None:
        with self._lock:
            self._cancelled.add(seq)

    @property
    def pending(self) -> list[tuple[Fraction, Callable]]:
        """What is scheduled, in order: (beat, function)."""
        with self._lock:
            return [(beat, task.fn) for beat, seq, task in sorted(self._queue) if seq not in self._cancelled]

    def _run_due(self, until: Fraction) -> int:
        """Run every callback scheduled before beat ``until``, in beat order.

        The one place callbacks run, live and offline.
        """
        ran = 0
        while True:
            with self._lock:
                if not self._queue or self._queue[0][0] >= until:
                    return ran
                beat, seq, task = heapq.heappop(self._queue)
                if seq in self._cancelled:
                    if task.period is None:
                        self._cancelled.discard(seq)
                    continue
            ran += 1
            result = self._call(task, beat)
            later = task.period if task.period is not None else _beats_or_none(result)
            if later is not None:
                with self._lock:
                    if seq not in self._cancelled:
                        heapq.heappush(self._queue, (beat + later, seq, task))

    def _call(self, task: _Task, beat: Fraction) -> Any:
        engine = self.engine
        engine._context.beat = beat  # changes posted without a time land on this beat
        try:
            return task.fn(beat) if task.wants_beat else task.fn()
        except Exception as error:  # a live-coding mistake never stops the music
            self.errors += 1
            name = getattr(task.fn, "__name__", repr(task.fn))
            self.last_error = f"{name} at beat {float(beat):g}: {type(error).__name__}: {error}"
            print(f"lmk: callback {self.last_error}; the music goes on", file=sys.stderr)
            traceback.print_exc()
            return None
        finally:
            engine._context.beat = None

    # -- driving (the engine calls these) ------------------------------------------
    def _start(self, engine: Engine) -> None:
        """The engine has started streaming."""

    def _stop(self) -> None:
        """The engine has stopped streaming."""


def _beats_or_none(result: Any) -> Fraction | None:
    if isinstance(result, bool) or not isinstance(result, Real):
        return None
    beats = to_fraction(result)
    return beats if beats > 0 else None


class LiveClock(Clock):
    """Monotonic wall-clock time; callbacks run on a scheduler thread, ``lookahead``
    seconds ahead of the engine's horizon."""

    live = True

    def __init__(self, lookahead: float = 0.2) -> None:
        super().__init__()
        if not 0 < lookahead <= 10:
            raise ValueError(f"lookahead is in seconds, between 0 and 10; got {lookahead}")
        self.lookahead = float(lookahead)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            threading.Event().wait(seconds)

    def _start(self, engine: Engine) -> None:
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, args=(engine,), name="lmk-clock", daemon=True)
        self._thread.start()

    def _run(self, engine: Engine) -> None:
        ahead = int(self.lookahead * engine.sample_rate)
        while not self._wake.is_set():
            try:
                self._run_due(engine.tempo.beat_at(engine.horizon + ahead))
                self._tick(engine)
            except Exception as error:  # the scheduler itself must never die
                print(f"lmk: clock scheduler error: {error}", file=sys.stderr)
            self._wake.wait(0.005)

    def _tick(self, engine: Engine) -> None:
        """Called on the scheduler thread every few milliseconds; variants keep in step here."""

    def _stop(self) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None


class OfflineClock(Clock):
    """Time that moves only when advanced: by the engine as it renders, or by a test."""

    def __init__(self, start: float = 0.0) -> None:
        super().__init__()
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"an offline clock cannot go back in time (advance by {seconds})")
        self._now += seconds

    def set(self, seconds: float) -> None:
        """Jump to ``seconds`` (never backwards)."""
        self.advance(seconds - self._now)
