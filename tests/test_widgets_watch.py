"""The widgets' poll thread: each poll at its own period, bugs reported once per streak, gone when idle."""

from __future__ import annotations

import threading
import time

import pytest
from _widgets import wait_until

from livemusic_kernel.widgets._watch import _WATCHER, watch


def test_polls_run_at_their_own_periods_on_one_thread():
    fast, slow, threads = [], [], set()

    def poll_fast():
        fast.append(time.monotonic())
        threads.add(threading.current_thread().name)

    a = watch(poll_fast, 0.02)
    b = watch(lambda: slow.append(time.monotonic()), 0.2)
    wait_until(lambda: len(slow) >= 3)
    a.cancel()
    b.cancel()
    assert len(fast) > len(slow)  # about ten to one (a starved thread runs each due poll once on waking)
    assert threads == {"lmk-widgets"}


def test_a_failing_poll_is_reported_once_per_streak_and_keeps_being_called(capsys):
    calls = []

    def poll():
        calls.append(1)
        if len(calls) in (1, 2, 4):
            raise RuntimeError("poll bug")

    subscription = watch(poll, 0.01)
    wait_until(lambda: len(calls) >= 6)
    subscription.cancel()
    err = capsys.readouterr().err
    assert err.count("RuntimeError: poll bug") == 2  # calls 1-2, then call 4
    assert "keeps being called" in err


def test_the_thread_ends_when_nothing_is_watched_and_comes_back():
    subscription = watch(lambda: None, 0.01)
    subscription.cancel()
    wait_until(lambda: _WATCHER._thread is None, what="the poll thread ending")
    seen = []
    again = watch(lambda: seen.append(1), 0.01)
    wait_until(lambda: seen)
    again.cancel()


def test_a_poll_period_is_checked():
    with pytest.raises(ValueError, match="a poll period is between 0.01 and 60 seconds"):
        watch(lambda: None, 0)
