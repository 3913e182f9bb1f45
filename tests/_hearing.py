"""A model that keeps what injection hands it: the engine's side of injection, tested without a
model's musical answer (a seam of our own)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from livemusic_kernel.models.click import ClickBackend


class HearingClick(ClickBackend):
    """The click model with a context hook that keeps what it hears."""

    def __init__(self):
        self.heard: list[tuple[int, np.ndarray]] = []
        self.lock = threading.Lock()

    def hear(self, state, audio, start):
        with self.lock:
            self.heard.append((start, np.array(audio)))
        return state

    def context(self, length: int) -> np.ndarray:
        """What it heard, laid out at the samples it was placed on."""
        out = np.zeros((length, 2), np.float32)
        with self.lock:
            for start, audio in self.heard:
                end = min(start + len(audio), length)
                if end > start:
                    out[start:end] += audio[:end - start]
        return out


@pytest.fixture
def hearing():
    """An offline engine (120 BPM) playing a HearingClick: (engine, backend)."""
    from livemusic_kernel import Engine

    backend = HearingClick()
    engine = Engine(backend, sink=None, quiet=True, bpm=120)
    yield engine, backend
    engine.close()
