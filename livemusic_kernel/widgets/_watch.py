"""One kernel thread that polls the engine for every widget, a few times a second.

Widgets must follow changes made from code, OSC or a clock callback, and those
never pass through a widget. So each widget registers a small poll function
here; a single daemon thread calls each at its own modest rate and the widget
updates its traits when something changed. Sending trait updates from this
thread is fine in ipykernel (messages to the browser go out on the IOPub
thread), and it keeps working while a cell runs, when messages *from* the
browser wait. The thread exists only while some widget is watching.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

__all__ = ["watch", "Subscription"]


class Subscription:
    """A poll function and its period; :meth:`cancel` stops the calls."""

    __slots__ = ("fn", "every", "due", "failing", "watcher")

    def __init__(self, fn: Callable[[], None], every: float, watcher: _Watcher):
        self.fn = fn
        self.every = every
        self.due = 0.0
        self.failing = False
        self.watcher = watcher

    def cancel(self) -> None:
        self.watcher.remove(self)


class _Watcher:
    def __init__(self) -> None:
        self._subscriptions: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, fn: Callable[[], None], every: float) -> Subscription:
        if not 0.01 <= every <= 60:
            raise ValueError(f"a poll period is between 0.01 and 60 seconds, got {every}")
        subscription = Subscription(fn, every, self)
        with self._lock:
            self._subscriptions += (subscription,)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lmk-widgets", daemon=True)
                self._thread.start()
        self._wake.set()
        return subscription

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def _run(self) -> None:
        while True:
            with self._lock:
                subscriptions = self._subscriptions
                if not subscriptions:
                    self._thread = None
                    return
            now = time.monotonic()
            for subscription in subscriptions:
                if now >= subscription.due:
                    subscription.due = now + subscription.every
                    self._call(subscription)
            wait = min(s.due for s in subscriptions) - time.monotonic()
            self._wake.wait(max(wait, 0.005))
            self._wake.clear()

    @staticmethod
    def _call(subscription: Subscription) -> None:
        try:
            subscription.fn()
        except Exception:  # a widget's bug must not stop the other widgets from following the engine
            if not subscription.failing:
                name = getattr(subscription.fn, "__qualname__", repr(subscription.fn))
                print(f"lmk widgets: {name} failed; it keeps being called\n{traceback.format_exc()}",
                      file=sys.stderr)
            subscription.failing = True
        else:
            subscription.failing = False


_WATCHER = _Watcher()


def watch(fn: Callable[[], None], every: float) -> Subscription:
    """Call ``fn()`` every ``every`` seconds on the widgets' poll thread, until cancelled."""
    return _WATCHER.add(fn, every)
