"""The live audio prompt: a prompt slot that keeps re-embedding what the performer just played.

The live music models paper (App. E) pairs audio injection with a *live audio
prompt*: every ``every`` seconds, the last ``seconds`` of injected input are
embedded with the engine's backend and put in a prompt slot, so the style
follows the performer as well as the context does. :meth:`Engine.live_prompt`
makes one.

It listens to the input on the generation worker
(:meth:`~livemusic_kernel.injection.Injector.listen`), which only copies the
audio into a ring. Live, embedding (tens of milliseconds to seconds) runs on a
thread of its own and the new style lands as soon as it is ready; a window
that comes due while the last one is still being embedded replaces any window
waiting, so a slow model falls behind by at most one. Offline, the window is
embedded on the rendering thread and lands at the next block, so a render is
deterministic. Either way the change is an ordinary logged ``set_prompt`` of a
style: a session log replays it without the input.
"""

from __future__ import annotations

import math
import queue
import threading
from typing import TYPE_CHECKING

import numpy as np

from .audio import AudioClip
from .injection import _Track

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["LivePrompt"]


class LivePrompt:
    """What :meth:`Engine.live_prompt` returns: the slot, its figures, and :meth:`stop`."""

    def __init__(self, engine: Engine, slot: str, *, seconds: float, every: float, weight: float):
        if not (isinstance(seconds, (int, float)) and 0.5 <= seconds <= 60):
            raise ValueError(f"seconds is the input embedded each time, from 0.5 to 60 seconds, got {seconds!r}")
        if not (isinstance(every, (int, float)) and 0.25 <= every <= 600):
            raise ValueError(f"every is how often the input is embedded, from 0.25 to 600 seconds, got {every!r}")
        self._engine, self.slot, self.weight = engine, slot, weight
        self.seconds, self.every = float(seconds), float(every)
        rate = engine.sample_rate
        self._window, self._every = int(round(seconds * rate)), int(round(every * rate))
        self._ring = _Track(engine.channels, 1 << math.ceil(math.log2(self._window + self._every + rate)))
        self._due: int | None = None
        self._waiting: queue.Queue = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        #: Windows embedded and put in the slot; windows skipped (silent, or replaced while waiting).
        self.embeddings = 0
        self.skipped = 0
        #: The input sample where the newest embedded window ended.
        self.last_window_end: int | None = None
        self._cancel = engine._injector.listen(self._heard)
        engine._injector.on_close(self.stop)

    def _heard(self, at: int, audio: np.ndarray) -> None:
        """On the worker: keep the input, and send each window as it comes due."""
        self._ring.add(at, audio)
        if self._due is None:
            self._due = at + self._every
        while self._ring.head >= self._due and not self._stopped.is_set():
            end, self._due = self._due, self._due + self._every
            window = self._ring.read(end - self._window, end)
            if self._engine.running:
                self._send(end, window)
            else:  # offline: here and now, landing at the next block, the same in every render
                self._embed(end, window, self._engine.position + self._engine.block_size)

    def _send(self, end: int, window: np.ndarray) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"lmk-live-prompt-{self.slot}", daemon=True)
            self._thread.start()
        try:
            self._waiting.get_nowait()  # an older window still waiting is stale: this one replaces it
            self.skipped += 1
        except queue.Empty:
            pass
        self._waiting.put_nowait((end, window))

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                end, window = self._waiting.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._embed(end, window, None)
            except Exception as error:  # a window that cannot be embedded never stops the music
                self._engine._report(f"live prompt {self.slot!r}: the input could not be embedded: "
                                     f"{type(error).__name__}: {error}; the slot keeps its last style")

    def _embed(self, end: int, window: np.ndarray, at_sample: int | None) -> None:
        if not window.any():  # silence says nothing about a style: the slot keeps the last one
            self.skipped += 1
            return
        style = self._engine.embed(AudioClip.from_array(window, self._engine.sample_rate))
        style.label = f"live input ({self.seconds:g} s to sample {end})"
        self._engine.set_prompt(self.slot, style, self.weight, at_sample=at_sample)
        self.embeddings += 1
        self.last_window_end = end

    def stop(self) -> None:
        """Stop re-embedding (the slot keeps its last style; clear it with ``clear_prompt``). Idempotent."""
        self._stopped.set()
        self._cancel()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def __repr__(self) -> str:
        return (f"<LivePrompt {self.slot!r}: the last {self.seconds:g} s of input every {self.every:g} s, "
                f"{self.embeddings} embedded>")
