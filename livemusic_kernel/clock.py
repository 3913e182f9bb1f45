"""Clocks: where the engine gets the time from.

One base class, two variants. :class:`LiveClock` reads the monotonic wall clock
and really sleeps. :class:`OfflineClock` holds a time that only moves when told
to, so offline rendering runs faster than real time and tests inject the time
they want; both run the same engine code.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod

__all__ = ["Clock", "LiveClock", "OfflineClock"]


class Clock(ABC):
    """A source of time in seconds."""

    #: True when time passes by itself (the engine then paces generation).
    live: bool = False

    @abstractmethod
    def now(self) -> float:
        """The current time in seconds (an arbitrary but fixed origin)."""

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""


class LiveClock(Clock):
    """Monotonic wall-clock time."""

    live = True

    def __init__(self) -> None:
        self._never = threading.Event()

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._never.wait(seconds)


class OfflineClock(Clock):
    """Time that moves only when advanced: by the engine as it renders, or by a test."""

    def __init__(self, start: float = 0.0) -> None:
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
