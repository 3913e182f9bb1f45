"""Injection sources: the lock-free input ring, what inject() accepts, and the errors that say why not."""

import numpy as np
import pytest

from livemusic_kernel import Engine, InjectionError, InputDevice, PushSource, WavRecorder
from livemusic_kernel.injection import _Aligner, _Track
from livemusic_kernel.sources import ARRIVED, STAMPED, FileSource, GeneratorSource, InputRing, as_source

RATE = 48000


def test_the_ring_hands_over_whole_packets_across_its_wrap_and_refuses_when_full():
    ring = InputRing(2, 1024, packets=8)
    block = np.arange(600, dtype=np.float32).reshape(300, 2)
    assert ring.write(block, 10, STAMPED, (0, 1)) and ring.write(block, 20, ARRIVED, (1, 1))
    (kind, stamp, first), (kind2, stamp2, second) = ring.take()
    assert (kind, stamp, kind2, stamp2) == (STAMPED, 10, ARRIVED, 20)
    assert np.array_equal(first, block) and np.array_equal(second[:, 0], block[:, 1])
    for _ in range(3):   # across the end of the buffer
        assert ring.write(block, 0, STAMPED, (0, 1))
    assert not ring.write(np.zeros((200, 2), np.float32), 0, STAMPED, (0, 1)) and ring.dropped == 200
    assert all(np.array_equal(audio, block) for _, _, audio in ring.take())


def test_the_track_mixes_sources_and_forgets_what_is_a_lap_old():
    track = _Track(2, 16)
    track.add(0, np.ones((10, 2), np.float32))
    track.add(5, np.ones((10, 2), np.float32))
    assert list(track.read(0, 16)[:, 0]) == [1] * 5 + [2] * 5 + [1] * 5 + [0]
    track.add(30, np.ones((2, 2), np.float32))
    assert not track.read(0, 16).any() and track.read(30, 32).all()


def test_arrival_stamps_are_placed_by_the_earliest_arrival():
    aligner = _Aligner(round_trip=100, window=48000, tolerance=48)
    # Packets of 480 frames; the second and third arrived 300 samples late (scheduling).
    starts = [aligner.place(stamp, 480) for stamp in (1480, 2260, 2740, 2920)]
    assert starts[0] == 900 and starts[1] == 1380 and starts[3] == 900 + 3 * 480


def test_inject_accepts_what_it_says(tmp_path):
    assert isinstance(as_source("mic"), InputDevice) and as_source("device:3").device == 3
    assert as_source("device:USB Audio").device == "USB Audio"
    with WavRecorder(tmp_path / "a.wav", RATE, 1, "float32") as recorder:
        recorder.write(np.zeros((100, 1), np.float32))
    assert isinstance(as_source(tmp_path / "a.wav", loop=False), FileSource)
    assert isinstance(as_source([np.zeros(10)]), GeneratorSource)
    with pytest.raises(TypeError, match="a function of frames or an iterable"):
        GeneratorSource(3)
    with pytest.raises(ValueError, match="numbered from 1"):
        InputDevice(channels=(0,))
    with pytest.raises(ValueError, match="channels is a whole number from 1 to 64"):
        PushSource(channels=0)
    # A generator's audio is checked as the worker reads it: reported, and the music goes on.
    engine = Engine("builtin", sink=None, quiet=True)
    engine.inject(lambda frames: np.full(frames, np.nan))
    out = engine.render(0.5)
    assert np.isfinite(out).all() and np.abs(out).max() > 0
    assert any("audio injection failed" in m and "audio must be finite" in m for m in engine.messages)
    engine.close()


def test_a_live_input_needs_a_streaming_engine():
    engine = Engine("builtin", sink=None, quiet=True)
    with pytest.raises(InjectionError, match="start\\(\\) it first"):
        engine.inject("mic")
    engine.close()
