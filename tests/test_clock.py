"""Clocks: live and offline variants of one base class."""

import pytest

from livemusic_kernel.clock import Clock, LiveClock, OfflineClock


def test_the_offline_clock_moves_only_when_told():
    clock = OfflineClock(5.0)
    assert clock.now() == 5.0 and not clock.live and isinstance(clock, Clock)
    clock.sleep(1.5)
    clock.set(10.0)
    assert clock.now() == 10.0
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(9.0)


def test_the_live_clock_is_monotonic_and_sleeps():
    clock = LiveClock()
    before = clock.now()
    clock.sleep(0.01)
    assert clock.now() > before and clock.live
