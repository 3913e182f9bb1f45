"""The Player's kernel side: the stream it sends (binary, exactly the engine's audio), its requests,
the browser's reports, and what it refuses."""

from __future__ import annotations

import time

import _widgets
import numpy as np
import pytest
from _widgets import ok, refused, wait_until

from livemusic_kernel import Engine
from livemusic_kernel.widgets import Player

frontend = _widgets.frontend
RATE = 48000


@pytest.fixture
def engine():
    engine = Engine("click", sink=None, prompts={"main": "C4"})
    yield engine
    engine.close()


def stream(frontend, player):
    """The audio messages the views got: (header, samples as float32 (frames, channels))."""
    out = []
    for header, buffers in frontend.custom(player, "audio"):
        assert len(buffers) == 1
        dtype = {"int16": "<i2", "float32": "<f4"}[header["encoding"]]
        samples = np.frombuffer(buffers[0], dtype=dtype).reshape(header["frames"], header["channels"])
        out.append((header, samples.astype(np.float32) / (32767 if header["encoding"] == "int16" else 1)))
    return out


def test_the_player_describes_the_stream(frontend, engine):
    player = Player(engine)
    state = frontend.state(player)
    assert (state["sample_rate"], state["channels"], state["encoding"], state["lead_ms"]) == (RATE, 2, "int16", 250.0)
    assert state["streaming"] is False and "registerProcessor" in state["_worklet"]
    player.close()


@pytest.mark.parametrize("encoding", ["float32", "int16"])
def test_start_streams_exactly_the_engines_audio_in_binary_messages(frontend, engine, encoding):
    player = Player(engine, encoding=encoding)
    assert ok(frontend.send(player, {"type": "start"})) == {"sample_rate": RATE, "channels": 2, "running": False}
    assert player.streaming and frontend.state(player)["streaming"] is True
    audio = engine.render(2.0)
    wait_until(lambda: player.frames_sent == len(audio))
    got = stream(frontend, player)
    assert [h["sample"] for h, _ in got] == list(np.cumsum([0] + [h["frames"] for h, _ in got[:-1]]))
    assert got[-1][0]["sent"] == len(audio)
    heard = np.concatenate([samples for _, samples in got])
    if encoding == "float32":
        assert np.array_equal(heard, audio)
    else:  # 16-bit: within half a step of the engine's samples
        assert np.abs(heard - audio).max() <= 0.5 / 32767 + 1e-6
        assert np.abs(audio).max() > 0.1
    ok(frontend.send(player, {"type": "stop"}))
    assert not player.streaming and engine._listeners == ()
    engine.render(0.5)
    time.sleep(0.1)
    assert player.frames_sent == len(audio)  # nothing more once stopped
    player.close()


def test_nothing_is_sent_before_listen_is_pressed(frontend, engine):
    player = Player(engine)
    engine.render(1.0)
    time.sleep(0.1)
    assert player.frames_sent == 0 and not frontend.custom(player, "audio")
    player.close()


def test_the_browsers_report_is_kept_and_bad_reports_leave_the_last_good_one(frontend, engine):
    player = Player(engine)
    report = {"type": "report", "received": 48000, "played": 47000, "underruns": 1, "dropped": 0, "fill_ms": 240.5,
              "output_ms": 42.0, "context": "AudioWorklet"}
    ok(frontend.send(player, report))
    good = {"received": 48000, "played": 47000, "underruns": 1, "dropped": 0, "fill_ms": 240.5, "output_ms": 42.0,
            "context": "AudioWorklet"}
    assert player.browser == good and frontend.state(player)["browser"] == good
    for field, bad in [("received", -1), ("played", "many"), ("underruns", True), ("dropped", 1.5),
                       ("fill_ms", None), ("fill_ms", 1e12), ("context", ""), ("output_ms", -3)]:
        refused(frontend.send(player, {**report, field: bad}), field)
    refused(frontend.send(player, {"type": "report"}), "the request has no 'received'")
    assert player.browser == good
    player.close()


def test_the_buffer_target_is_the_browsers_to_choose_within_limits(frontend, engine):
    player = Player(engine)
    ok(frontend.send(player, {"type": "lead", "lead_ms": 500}))
    assert player.lead_ms == 500 and frontend.state(player)["lead_ms"] == 500
    for bad in (0, 10, 6000, "500", None, float("nan")):
        refused(frontend.send(player, {"type": "lead", "lead_ms": bad}), "lead_ms must be a number from 20 to 5000")
    assert player.lead_ms == 500
    player.close()


def test_a_browser_that_reports_it_fell_far_behind_gets_no_more_until_it_catches_up(frontend, engine):
    player = Player(engine, max_behind=1)
    player.start()
    engine.render(2.0)
    wait_until(lambda: player.frames_sent == 2 * RATE)
    ok(frontend.send(player, {"type": "report", "received": 0, "played": 0, "underruns": 0, "dropped": 0,
                              "fill_ms": 0}))
    engine.render(1.0)
    wait_until(lambda: player.frames_skipped == RATE)
    assert player.frames_sent == 2 * RATE
    ok(frontend.send(player, {"type": "report", "received": 2 * RATE, "played": 2 * RATE, "underruns": 0,
                              "dropped": 0, "fill_ms": 200}))
    engine.render(1.0)
    wait_until(lambda: player.frames_sent == 3 * RATE)
    player.close()


def test_without_a_report_for_max_silence_the_kernel_stops_sending_until_the_next_one(frontend, engine):
    """A closed tab reports nothing: after max_silence the kernel stops queueing audio for it."""
    player = Player(engine, max_silence=1)
    ok(frontend.send(player, {"type": "start"}))
    engine.render(0.5)
    wait_until(lambda: player.frames_sent == RATE // 2)
    silent_since = time.monotonic()
    wait_until(lambda: time.monotonic() - silent_since > 1.1, what="a silence longer than max_silence")
    engine.render(0.5)
    wait_until(lambda: player.frames_skipped == RATE // 2)
    ok(frontend.send(player, {"type": "report", "received": RATE // 2, "played": RATE // 2, "underruns": 0,
                              "dropped": 0, "fill_ms": 0}))
    engine.render(0.5)
    wait_until(lambda: player.frames_sent == RATE)
    player.close()


def test_a_live_engine_streams_in_real_time_to_a_started_player(frontend):
    """Live, the stream follows the engine's own pace (the null sink here), whatever the browser does."""
    engine = Engine("click", sink="null", prompts={"main": "C4"}, quiet=True)
    engine.start()
    player = Player(engine)
    ok(frontend.send(player, {"type": "start"}))
    wait_until(lambda: player.frames_sent >= RATE)
    engine.close()
    got = stream(frontend, player)
    first, sent = got[0][0]["sample"], player.frames_sent
    # Everything released after Listen, in order, and never more than the engine made.
    assert [h["sample"] for h, _ in got] == list(first + np.cumsum([0] + [h["frames"] for h, _ in got[:-1]]))
    assert first + sent <= engine.position
    player.close()


def test_bad_options_are_refused(engine):
    with pytest.raises(ValueError, match="unknown encoding 'mp3'; choose one of: int16, float32"):
        Player(engine, encoding="mp3")
    with pytest.raises(ValueError, match="lead_ms is the browser's buffer in milliseconds, from 20 to 5000"):
        Player(engine, lead_ms=1)
    with pytest.raises(ValueError, match="max_behind is in seconds, from 1 to 600"):
        Player(engine, max_behind=0)
    with pytest.raises(ValueError, match="max_silence is in seconds, from 1 to 86400"):
        Player(engine, max_silence=0)
