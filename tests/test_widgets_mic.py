"""The Player's microphone, kernel side: the browser's binary packets, stamped with the sample the
performer heard, reach the model's context through a PushSource at those samples; every bad packet
gets an error reply (never an exception into the kernel) and leaves the injection as it was."""

from __future__ import annotations

import _hearing
import _widgets
import numpy as np
import pytest
from _widgets import ok, refused

from livemusic_kernel import Engine
from livemusic_kernel.widgets import Player
from livemusic_kernel.widgets.player import MIC_SOURCE, encode

frontend = _widgets.frontend
RATE = 48000


hearing = _hearing.hearing


def tone(frames: int, start: int = 0, frequency: float = 441.0) -> np.ndarray:
    t = (start + np.arange(frames)) / RATE
    return (0.4 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)[:, None]


def packet(sample: int, audio: np.ndarray, encoding: str = "int16") -> tuple[dict, list[bytes]]:
    header = {"type": "mic", "sample": sample, "frames": len(audio), "channels": audio.shape[1], "encoding": encoding}
    return header, [encode(audio, encoding)]


def test_stamped_packets_reach_the_models_context_at_the_samples_the_performer_heard(frontend, hearing):
    engine, backend = hearing
    player = Player(engine)
    result = ok(frontend.send(player, {"type": "mic_start", "channels": 1, "context_rate": 48000}))
    assert result == {"sample_rate": RATE, "channels": 1, "source": f"{MIC_SOURCE} (1 ch)"}
    assert player.mic is True and frontend.state(player)["mic"] is True
    played = np.concatenate([tone(1920, start) for start in range(0, RATE, 1920)])  # 25 packets of 40 ms
    for start in range(0, RATE, 1920):
        reply = frontend.send(player, *packet(4800 + start, played[start:start + 1920], "float32"))
        assert ok(reply) == {"taken": True}
    engine.render(2.0)
    handle = player.mic_handle
    assert [h.source.name for h in engine.injections] == [MIC_SOURCE]
    assert handle.received == RATE and handle.dropped == 0
    assert engine._injector.delivered_frames >= RATE
    context = backend.context(2 * RATE)
    # Exactly the performer's audio, mono on both channels, where they played it; nothing elsewhere.
    assert np.array_equal(context[4800:4800 + RATE, 0], played[:, 0])
    assert np.array_equal(context[4800:4800 + RATE, 1], played[:, 0])
    assert not context[:4800].any() and not context[4800 + RATE:].any()
    assert player.mic_input["frames"] == RATE and player.mic_input["packets"] == 25
    assert player.mic_input["last_sample"] == 4800 + RATE - 1920
    player.close()  # closing the Player ends the injection (a live source ends a second after it stops:
    engine.render(1.5)  # late audio may still come)
    assert player.mic is False and handle.finished and not engine.injections


def test_int16_packets_and_the_mic_gain_scale_what_the_model_hears(frontend, hearing):
    engine, backend = hearing
    player = Player(engine)
    ok(frontend.send(player, {"type": "mic_start"}))
    ok(frontend.send(player, {"type": "mic_gain", "gain": 0.5}))
    assert player.mic_gain == 0.5 and frontend.state(player)["mic_gain"] == 0.5
    audio = tone(4800)
    ok(frontend.send(player, *packet(0, audio)))
    engine.render(1.0)
    heard = backend.context(RATE)[:4800, 0]
    assert np.abs(heard - 0.5 * audio[:, 0]).max() <= 0.5 / 32767 + 1e-6
    assert player.mic_input["peak_db"] == pytest.approx(20 * np.log10(0.4), abs=0.1)  # before the gain
    player.close()


def test_bad_microphone_messages_get_error_replies_and_change_nothing(frontend, hearing):
    engine, backend = hearing
    player = Player(engine)
    audio = tone(960)
    header, buffers = packet(0, audio)
    refused(frontend.send(player, header, buffers), "the microphone is off in the kernel: send mic_start first")
    ok(frontend.send(player, {"type": "mic_start", "channels": 1}))
    bad = [
        ({**header, "sample": -1}, buffers, "sample must be a whole number from 0"),
        ({**header, "sample": 1.5}, buffers, "sample must be a whole number"),
        ({**header, "sample": "0"}, buffers, "sample must be a whole number"),
        ({**header, "frames": 0}, buffers, "frames must be a whole number from 1 to 48000"),
        ({**header, "frames": 10 * RATE}, buffers, "frames must be a whole number from 1 to 48000"),
        ({**header, "frames": 961}, buffers, "the buffer holds 1920 bytes; 961 frames of 1 channels of int16 are 1922"),
        ({**header, "channels": 3}, buffers, "channels must be a whole number from 1 to 2"),
        ({**header, "channels": 2, "frames": 480}, buffers, "started with 1 channel(s); this packet has 2"),
        ({**header, "encoding": "mp3"}, buffers, "unknown encoding 'mp3'; choose one of: int16, float32"),
        (header, [], "one binary buffer, got 0"),
        (header, buffers * 2, "one binary buffer, got 2"),
        ({**header, "encoding": "float32", "frames": 1},
         [np.array([np.nan], "<f4").tobytes()], "NaN or infinite"),
        ({key: value for key, value in header.items() if key != "sample"}, buffers, "the request has no 'sample'"),
    ]
    for content, data, words in bad:
        refused(frontend.send(player, content, data), words)
    for gain in (-1, 5, "1", None, True):
        refused(frontend.send(player, {"type": "mic_gain", "gain": gain}), "gain must be a number from 0 to 4")
    for channels in (0, 3, "1", 1.5):
        refused(frontend.send(player, {"type": "mic_start", "channels": channels}), "channels must be a whole number")
    refused(frontend.send(player, {"type": "mic_start", "context_rate": 10}), "context_rate")
    assert player.mic_input == {} and player.mic_gain == 1.0
    assert player.refused == len(bad) + 1 + 5 + 4 + 1
    assert player._mic_counts["refused"] == len(bad) + 1
    engine.render(0.5)
    assert player.mic_handle.received == 0 and not backend.heard  # nothing bad reached the model
    ok(frontend.send(player, header, buffers))  # and the microphone still works
    engine.render(0.5)
    assert player.mic_handle.received == 960
    player.close()


def test_stopping_the_mic_or_listening_stops_the_injection(frontend, hearing):
    engine, _ = hearing
    player = Player(engine)
    ok(frontend.send(player, {"type": "mic_start"}))
    first = player.mic_handle
    assert ok(frontend.send(player, {"type": "mic_start"}))["channels"] == 1  # again: the same injection
    assert player.mic_handle is first
    ok(frontend.send(player, {"type": "mic_stop"}))
    engine.render(1.5)
    assert player.mic is False and first.finished and not engine.injections
    ok(frontend.send(player, {"type": "mic_start", "channels": 2}))
    ok(frontend.send(player, {"type": "stop"}))  # stop listening: the stamps would have nothing to follow
    engine.render(1.5)
    assert player.mic is False and not engine.injections
    ok(frontend.send(player, {"type": "mic_stop"}))  # idempotent
    player.close()


def test_a_backend_that_cannot_hear_input_refuses_the_mic_with_a_reason(frontend):
    engine = Engine("click", sink=None, quiet=True)
    player = Player(engine)
    refused(frontend.send(player, {"type": "mic_start"}), "cannot hear injected audio")
    assert player.mic is False
    player.close()
    engine.close()
