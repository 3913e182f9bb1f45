"""Ableton Link: play in time with other apps and machines on the network.

``Engine(clock=LinkClock())`` joins (or starts) a Link session. Every 20 ms
the clock compares the engine's beat at a sample it is about to generate with
the session's beat at the moment that sample will be heard, and when tempo or
phase differ it re-aligns the engine's tempo map from that sample on: beats
agree modulo the ``quantum`` (4 beats: bars line up), as Link defines.
Each re-alignment is a logged tempo change, so a session still replays bit for
bit. ``clock.set_tempo(bpm)`` proposes a tempo to the whole session.

Link itself is GPL (or proprietary), so it is an optional extra:
``pip install 'livemusic-kernel[link]'`` installs ``linkpython-extern``. We
chose it over ``aalink`` because its API is synchronous and mirrors Link's own
session state (``captureSessionState``, ``beatAtTime``, ``setTempo``), which
this clock's scheduler thread can query and steer directly; ``aalink`` is
asyncio-only and would need an event loop beside the engine's threads.
"""

from __future__ import annotations

import time
from fractions import Fraction
from numbers import Real
from typing import TYPE_CHECKING

from .clock import LiveClock
from .errors import MissingExtraError
from .tempo import check_bpm, to_fraction
from .timeline import SetTempo

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["LinkClock", "import_link"]


def import_link():
    """The ``link`` module of linkpython-extern, or an error naming the extra."""
    try:
        import link
    except ImportError:
        raise MissingExtraError("Ableton Link", "link", "linkpython-extern") from None
    return link


class LinkClock(LiveClock):
    """A live clock in an Ableton Link session.

    ``quantum`` is the span in beats whose phase Link aligns (4: bars);
    ``tolerance`` is the phase error, in seconds, left alone rather than
    corrected (a correction moves the beat grid).
    """

    def __init__(self, quantum: Real = 4, *, lookahead: float = 0.2, sync_every: float = 0.02,
                 tolerance: float = 0.0005) -> None:
        super().__init__(lookahead)
        self._module = import_link()
        self.quantum = to_fraction(quantum)
        if self.quantum <= 0:
            raise ValueError(f"a Link quantum is a positive number of beats, got {quantum!r}")
        if not 0 < sync_every <= 1:
            raise ValueError(f"sync_every is in seconds, between 0 and 1; got {sync_every}")
        self.sync_every = float(sync_every)
        self.tolerance = float(tolerance)
        self._link = None
        self._next_sync = 0.0
        #: Re-alignments made so far, and the phase error (seconds) the newest one corrected.
        self.corrections = 0
        self.last_error_s = 0.0

    # -- the session ----------------------------------------------------------------
    def _attach(self, engine: Engine) -> None:
        super()._attach(engine)
        self._link = self._module.Link(float(engine.bpm))

    @property
    def peers(self) -> int:
        """Other apps in the session."""
        return self._link.numPeers() if self._link is not None else 0

    @property
    def session_tempo(self) -> float:
        return self._link.captureSessionState().tempo()

    def set_tempo(self, bpm: Real, *, at_beat: Real | None = None, ramp_beats: Real | None = None):
        """Propose a tempo to the whole session (it reaches this engine through the session)."""
        if ramp_beats is not None:
            raise ValueError("a Link session changes tempo at once: ramps are not shared over Link")
        bpm = float(check_bpm(bpm))
        if at_beat is not None:
            return self.at(lambda: self._propose(bpm), beat=at_beat)
        self._propose(bpm)
        return None

    def _propose(self, bpm: float) -> None:
        state = self._link.captureAppSessionState()
        state.setTempo(bpm, self._link.clock().micros())
        self._link.commitAppSessionState(state)

    # -- following it ---------------------------------------------------------------------
    def _start(self, engine: Engine) -> None:
        self._link.enabled = True
        super()._start(engine)

    def _stop(self) -> None:
        super()._stop()
        if self._link is not None:
            self._link.enabled = False

    def _tick(self, engine: Engine) -> None:
        if time.monotonic() >= self._next_sync:
            self._next_sync = time.monotonic() + self.sync_every
            self._sync(engine)

    def _sync(self, engine: Engine) -> None:
        sample = engine.horizon + 2 * engine.block_size  # not generated yet: a change can land on it
        heard = engine.heard_time(sample)
        if heard is None:
            return
        # Link counts time on its own clock (CLOCK_MONOTONIC_RAW on Linux): convert by sampling both.
        offset = self._link.clock().micros() - time.monotonic() * 1e6
        state = self._link.captureSessionState()
        bpm = state.tempo()
        theirs = state.beatAtTime(int(heard * 1e6 + offset), float(self.quantum))
        tempo = engine.tempo
        ours = tempo.beat_at(sample)
        q = float(self.quantum)
        difference = (theirs - float(ours) + q / 2) % q - q / 2  # nearest way round the quantum
        error_s = difference * 60.0 / bpm
        if abs(bpm - float(tempo.bpm_at(sample))) < 1e-4 and abs(error_s) < self.tolerance:
            return
        beat = ours + Fraction(difference).limit_denominator(1 << 20)
        engine._post(SetTempo(to_fraction(round(bpm, 6)), None, beat), sample, None)
        self.corrections += 1
        self.last_error_s = error_s
