"""A single-producer, single-consumer ring of audio frames.

The generation worker is the only writer and the audio callback the only
reader. Each side advances only its own counter, and only after its copy is
done, so neither ever waits for the other and no lock is needed: under the
GIL a Python int assignment is atomic, and a reader can at worst see fewer
frames than are really there, never half-written ones.
"""

from __future__ import annotations

import numpy as np


class Ring:
    """A preallocated ring of ``capacity`` frames of ``channels`` float32 samples."""

    def __init__(self, capacity: int, channels: int):
        self._buffer = np.zeros((capacity, channels), dtype=np.float32)
        self.capacity = capacity
        self.written = 0  #: frames ever written (only the writer changes it)
        self.read = 0     #: frames ever read (only the reader changes it)

    @property
    def fill(self) -> int:
        return self.written - self.read

    @property
    def space(self) -> int:
        return self.capacity - self.fill

    def write(self, block: np.ndarray) -> None:
        """Append a block. The caller makes sure there is space."""
        frames = len(block)
        if frames > self.space:
            raise OverflowError(f"ring overflow: {frames} frames for {self.space} free")
        start = self.written % self.capacity
        first = min(frames, self.capacity - start)
        self._buffer[start:start + first] = block[:first]
        self._buffer[:frames - first] = block[first:]
        self.written += frames

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` frames into ``out``, zero the rest, and
        return how many were real. Allocates nothing but array views."""
        wanted = len(out)
        frames = min(wanted, self.written - self.read)
        start = self.read % self.capacity
        first = min(frames, self.capacity - start)
        out[:first] = self._buffer[start:start + first]
        out[first:frames] = self._buffer[:frames - first]
        if frames < wanted:
            out[frames:] = 0.0
        self.read += frames
        return frames
