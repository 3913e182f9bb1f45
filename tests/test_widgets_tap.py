"""The engine's listener seam (Engine.listen) and the widgets' AudioTap built on it.

The Player and the Scope hear the engine through these: listeners get every released block on the
generation worker, and the tap moves the audio to a thread of its own.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from livemusic_kernel import Engine, read_wav
from livemusic_kernel.widgets._tap import AudioTap

RATE = 48000


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_listeners_get_exactly_what_render_returns():
    """Offline, the blocks a listener gets join into the rendered audio, each at its own position."""
    engine = Engine("click", sink=None, prompts={"main": "C4"})
    got = []
    engine.listen(lambda sample, block: got.append((sample, block)))
    audio = engine.render(3.0)
    positions = [sample for sample, _ in got]
    assert positions[0] == 0
    assert positions == list(np.cumsum([0] + [len(block) for _, block in got[:-1]]))
    assert np.array_equal(np.concatenate([block for _, block in got]), audio)
    assert not got[0][1].flags.writeable
    with pytest.raises(ValueError):
        got[0][1][0, 0] = 1.0


def test_live_listeners_run_on_the_worker_and_hear_the_recording(tmp_path):
    """Live, a listener hears every frame the recorder writes, in order, on the generation worker."""
    threads, got = set(), []

    def listener(sample, block):
        threads.add(threading.current_thread().name)
        got.append((sample, block.copy()))

    engine = Engine("click", sink="null", prompts={"main": "C4"}, record=tmp_path / "r.wav", quiet=True)
    engine.listen(listener)
    engine.start()
    wait_until(lambda: engine.played > RATE)
    engine.close()
    recorded, _ = read_wav(tmp_path / "r.wav")
    heard = np.concatenate([block for _, block in got])
    assert np.array_equal(heard, recorded)
    assert [sample for sample, _ in got] == list(np.cumsum([0] + [len(b) for _, b in got[:-1]]))
    # Priming runs on the thread that calls start(); everything after on the worker.
    assert "lmk-worker" in threads and threads <= {"lmk-worker", threading.current_thread().name}


def test_a_raising_listener_is_reported_once_per_streak_and_the_music_goes_on():
    engine = Engine("click", sink=None, prompts={"main": "C4"}, quiet=True)
    calls, others = [], []

    def flaky(sample, block):
        calls.append(sample)
        if len(calls) <= 3 or len(calls) == 6:
            raise RuntimeError("listener bug")

    engine.listen(flaky)
    engine.listen(lambda sample, block: others.append(sample))
    audio = engine.render(0.5)  # 13 blocks of 40 ms
    assert len(calls) == len(others) >= 10  # every block reached both listeners
    reports = [m for m in engine.messages if "audio listener" in m]
    assert len(reports) == 2  # the first streak (3 failures), then the failure at call 6
    assert "RuntimeError: listener bug" in reports[0] and "flaky" in reports[0]
    assert np.abs(audio).max() > 0


def test_cancel_stops_a_listener_and_bad_listeners_are_refused():
    engine = Engine("click", sink=None)
    got = []
    handle = engine.listen(lambda sample, block: got.append(sample))
    engine.render(0.2)
    count = len(got)
    handle.cancel()
    handle.cancel()  # idempotent
    engine.render(0.2)
    assert len(got) == count > 0
    with pytest.raises(TypeError, match="a listener is a function"):
        engine.listen("not a function")


def test_the_tap_delivers_the_audio_in_order_on_its_own_thread():
    engine = Engine("click", sink=None, prompts={"main": "C4"})
    pieces, threads = [], set()

    def consume(sample, audio):
        threads.add(threading.current_thread().name)
        pieces.append((sample, audio))

    tap = AudioTap(engine, consume, period=0.01, name="test-tap")
    audio = engine.render(2.0)
    wait_until(lambda: sum(len(a) for _, a in pieces) == len(audio))
    tap.close()
    assert threads == {"test-tap"}
    assert pieces[0][0] == 0
    assert np.array_equal(np.concatenate([a for _, a in pieces]), audio)
    assert tap.dropped == 0


def test_a_slow_consumer_loses_the_oldest_audio_counted_and_the_gap_starts_a_new_piece():
    engine = Engine("click", sink=None, prompts={"main": "C4"})
    release = threading.Event()
    pieces = []

    def consume(sample, audio):
        pieces.append((sample, len(audio)))
        release.wait(5)

    tap = AudioTap(engine, consume, period=0.01, max_seconds=0.5)
    engine.render(0.2)
    wait_until(lambda: pieces)  # the consumer now blocks on the first piece
    engine.render(2.0)  # 2 s arrive while it blocks: only the newest 0.5 s or so are kept
    release.set()
    total = int(round(2.2 * RATE))
    wait_until(lambda: sum(n for _, n in pieces) + tap.dropped == total)
    tap.close()
    assert tap.dropped > RATE
    starts = [sample for sample, _ in pieces]
    assert starts[1] > pieces[0][0] + pieces[0][1]  # a gap where the dropped audio was


def test_a_consumer_that_raises_does_not_stop_the_tap(capsys):
    engine = Engine("click", sink=None, prompts={"main": "C4"})
    seen = []

    def consume(sample, audio):
        seen.append(sample)
        if len(seen) == 1:
            raise RuntimeError("consumer bug")

    tap = AudioTap(engine, consume, period=0.01)
    engine.render(0.1)
    wait_until(lambda: len(seen) >= 1)
    engine.render(0.1)
    wait_until(lambda: len(seen) >= 2)
    tap.close()
    assert "consumer bug" in capsys.readouterr().err
