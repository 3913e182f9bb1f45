"""The Transport: play and stop, the tempo, a beat and bar display that ticks with the music,
Ableton Link's status, and the engine's health figures."""

from __future__ import annotations

from typing import Any

import traitlets

from ..engine import Engine
from ..tempo import check_bpm
from ._base import InstrumentWidget, clock_state, finite, frontend_file, integer, number, request

__all__ = ["Transport"]

#: BPM limits the tempo box offers (the engine itself accepts what check_bpm does).
BPM_RANGE = (20.0, 400.0)


class Transport(InstrumentWidget):
    """Play/stop, tempo and meter, the beat as it is heard, Link status and the figures."""

    _esm = frontend_file("transport.js")

    #: Where the music is: beat, bpm, beats_per_bar, running (the view ticks between updates).
    clock = traitlets.Dict().tag(sync=True)
    #: Ableton Link: {"enabled": bool, "peers": int, "tempo": float} (enabled False without a LinkClock).
    link = traitlets.Dict().tag(sync=True)
    #: The engine's health: latency p50/p95 (ms), underruns, real-time factor, queue, errors.
    figures = traitlets.Dict().tag(sync=True)
    backend = traitlets.Unicode().tag(sync=True)

    def __init__(self, engine: Engine, **kwargs: Any):
        super().__init__(engine, **kwargs)
        self._poll_clock()
        self._poll_figures()
        self._follow(self._poll_clock, 0.1)
        self._follow(self._poll_figures, 0.5)

    def _poll_clock(self) -> None:
        self._update(clock=clock_state(self.engine), backend=self.engine.backend.name, link=_link_state(self.engine))

    def _poll_figures(self) -> None:
        f = self.engine.figures
        self._update(figures={
            "latency_p50_ms": finite(f.latency_ms.p50, 1), "latency_p95_ms": finite(f.latency_ms.p95, 1),
            "underruns": f.underruns, "realtime_factor": finite(f.realtime_factor),
            "queue_ms": finite(f.queue_ms, 1), "errors": f.errors, "late_events": f.late_events,
            "generated_s": finite(f.generated_s, 1)})

    # -- requests ------------------------------------------------------------------------------------
    @request("play")
    def _request_play(self, content: dict, buffers: list) -> None:
        self.engine.start()
        self._poll_clock()

    @request("stop")
    def _request_stop(self, content: dict, buffers: list) -> None:
        self.engine.stop()
        self._poll_clock()

    @request("bpm")
    def _request_bpm(self, content: dict, buffers: list) -> None:
        bpm = number(content, "bpm", *BPM_RANGE)
        self.engine.clock.set_tempo(check_bpm(round(bpm, 3)))  # through the clock: a Link clock tells its peers

    @request("meter")
    def _request_meter(self, content: dict, buffers: list) -> None:
        self.engine.set_meter(integer(content, "beats_per_bar", 1, 64))


def _link_state(engine: Engine) -> dict[str, Any]:
    clock = engine.clock
    if not hasattr(clock, "peers"):
        return {"enabled": False}
    try:
        return {"enabled": True, "peers": int(clock.peers), "tempo": finite(clock.session_tempo, 2)}
    except Exception as error:  # a Link session that cannot be read is shown as such, not hidden
        return {"enabled": True, "peers": 0, "tempo": None, "error": str(error)}
