"""The Transport: the clock and figures it shows, play/stop/tempo/meter requests, Link status."""

from __future__ import annotations

import json

import _widgets
import pytest
from _widgets import ok, refused, wait_until

from livemusic_kernel import Engine
from livemusic_kernel.widgets import Transport

frontend = _widgets.frontend
engine = _widgets.engine




def test_the_clock_and_figures_are_shown_json_ready(frontend, engine):
    transport = Transport(engine)
    assert transport.clock == {"beat": 0.2, "bpm": 120.0, "beats_per_bar": 4, "running": False}
    assert transport.backend == "click" and transport.link == {"enabled": False}
    figures = transport.figures
    assert figures["latency_p95_ms"] is None  # NaN before any change was heard: null, not an invalid NaN
    json.dumps(figures, allow_nan=False)
    engine.render(1.25)
    transport._poll_clock()
    assert transport.clock["beat"] == 2.7 and frontend.state(transport)["clock"]["beat"] == 2.7
    transport.close()


def test_tempo_and_meter_requests_land_on_the_engine(frontend, engine):
    transport = Transport(engine)
    ok(frontend.send(transport, {"type": "bpm", "bpm": 128.5}))
    ok(frontend.send(transport, {"type": "meter", "beats_per_bar": 3}))
    engine.render(0.1)
    transport._poll_clock()
    assert engine.controls.bpm == 128.5 and transport.clock["bpm"] == 128.5
    assert transport.clock["beats_per_bar"] == 3
    transport.close()


@pytest.mark.parametrize(("request_", "words"), [
    ({"type": "bpm", "bpm": 0}, "bpm must be a number from 20 to 400"),
    ({"type": "bpm", "bpm": 1000}, "bpm must be a number from 20 to 400"),
    ({"type": "bpm", "bpm": "fast"}, "bpm must be a number"),
    ({"type": "bpm", "bpm": None}, "bpm must be a number"),
    ({"type": "meter", "beats_per_bar": 0}, "beats_per_bar must be a whole number from 1 to 64"),
    ({"type": "meter", "beats_per_bar": 3.5}, "beats_per_bar must be a whole number"),
])
def test_bad_values_from_the_browser_are_refused(frontend, engine, request_, words):
    transport = Transport(engine)
    refused(frontend.send(transport, request_), words)
    engine.render(0.1)
    assert engine.controls.bpm == 120 and engine.beats_per_bar == 4
    transport.close()


def test_play_and_stop_start_and_stop_a_live_engine(frontend):
    engine = Engine("click", sink="null", prompts={"main": "C4"}, quiet=True)
    transport = Transport(engine)
    ok(frontend.send(transport, {"type": "play"}))
    assert engine.running and transport.clock["running"] is True
    wait_until(lambda: transport.clock["beat"] > 0, what="the beat moving")
    ok(frontend.send(transport, {"type": "stop"}))
    assert not engine.running and transport.clock["running"] is False
    transport.close()
    engine.close()


def test_play_on_an_offline_engine_says_why_it_cannot(frontend, engine):
    transport = Transport(engine)
    refused(frontend.send(transport, {"type": "play"}), "this engine is offline (sink=None)")
    transport.close()


def test_link_status_shows_the_session():
    pytest.importorskip("link", reason="the link extra (linkpython-extern) is in the dev extra")
    from livemusic_kernel.link import LinkClock

    engine = Engine("click", sink="null", clock=LinkClock(), quiet=True)
    transport = Transport(engine)
    assert transport.link == {"enabled": True, "peers": 0, "tempo": 120.0}
    transport.close()
    engine.close()
