"""The engine's released audio, handed from the generation worker to a thread of the widget's own.

A listener on the engine (:meth:`Engine.listen`) runs on the generation
worker, which must never wait: the tap only copies each block into a queue.
Its own thread drains the queue every ``period`` seconds and passes the audio
on in one piece, so the Player can encode and send it and the Scope can
analyse it without ever slowing the music down. If the consumer falls behind by
more than ``max_seconds``, the oldest audio is dropped and counted.
"""

from __future__ import annotations

import collections
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["AudioTap"]


class AudioTap:
    """Calls ``consume(sample, audio)`` on a thread of its own with the audio the engine released
    since the last call (``sample`` is the position of its first frame)."""

    def __init__(self, engine: Engine, consume: Callable[[int, np.ndarray], None], *, period: float = 0.02,
                 max_seconds: float = 4.0, name: str = "lmk-tap"):
        self._consume = consume
        self._period = period
        self._limit = int(max_seconds * engine.sample_rate)
        self._queue: collections.deque[tuple[int, np.ndarray]] = collections.deque()
        self._queued = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        #: Frames dropped because the consumer fell behind.
        self.dropped = 0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._handle = engine.listen(self._on_block)

    def _on_block(self, sample: int, block: np.ndarray) -> None:
        """On the generation worker: copy and queue, nothing more."""
        with self._lock:
            self._queue.append((sample, block.copy()))
            self._queued += len(block)
            while self._queued > self._limit and len(self._queue) > 1:
                _, old = self._queue.popleft()
                self._queued -= len(old)
                self.dropped += len(old)

    def _take(self) -> list[tuple[int, np.ndarray]]:
        with self._lock:
            blocks = list(self._queue)
            self._queue.clear()
            self._queued = 0
        return blocks

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            blocks = self._take()
            # Consecutive blocks go out as one; a gap (dropped audio) starts a new piece.
            pieces: list[tuple[int, list[np.ndarray]]] = []
            for sample, block in blocks:
                if pieces and pieces[-1][0] + sum(map(len, pieces[-1][1])) == sample:
                    pieces[-1][1].append(block)
                else:
                    pieces.append((sample, [block]))
            for sample, parts in pieces:
                self._deliver(sample, parts[0] if len(parts) == 1 else np.concatenate(parts))

    def _deliver(self, sample: int, audio: np.ndarray) -> None:
        try:
            self._consume(sample, audio)
        except Exception:  # the tap keeps running: the next piece may well go through
            if not self._failing:
                print(f"lmk widgets: {self._thread.name} could not pass audio on; it keeps trying\n"
                      f"{traceback.format_exc()}", file=sys.stderr)
            self._failing = True
        else:
            self._failing = False

    def close(self) -> None:
        """Stop listening to the engine and end the thread (idempotent)."""
        self._handle.cancel()
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
