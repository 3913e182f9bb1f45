"""The lock-free ring between the worker and the audio callback."""

import numpy as np
import pytest

from livemusic_kernel._ring import Ring


def test_frames_come_out_in_order_across_the_wrap():
    ring = Ring(8, 1)
    out = np.empty((3, 1), dtype=np.float32)
    seen = []
    for start in range(0, 30, 3):
        ring.write(np.arange(start, start + 3, dtype=np.float32)[:, None])
        assert ring.read_into(out) == 3
        seen.extend(out[:, 0])
    assert seen == list(range(30))


def test_an_underrun_fills_with_silence_and_reports_how_much_was_real():
    ring = Ring(8, 2)
    ring.write(np.ones((2, 2), dtype=np.float32))
    out = np.full((5, 2), 9.0, dtype=np.float32)
    assert ring.read_into(out) == 2
    assert np.all(out[:2] == 1) and np.all(out[2:] == 0)
    assert ring.fill == 0


def test_overflow_is_refused_rather_than_overwriting_unplayed_audio():
    ring = Ring(4, 1)
    ring.write(np.zeros((3, 1), dtype=np.float32))
    with pytest.raises(OverflowError, match="1 free"):
        ring.write(np.zeros((2, 1), dtype=np.float32))
