"""Shared test helpers: small backends that exercise the engine's seams."""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from livemusic_kernel.models.base import Backend, Capabilities
from livemusic_kernel.models.click import ClickBackend
from livemusic_kernel.style import Style, StyleSpace

RATE = 48000


def onsets(audio: np.ndarray) -> np.ndarray:
    """Sample indices where sound starts after exact silence (the click model's clicks)."""
    sounding = np.abs(audio[:, 0]) > 0
    return np.flatnonzero(np.diff(np.concatenate([[False], sounding]).astype(np.int8)) == 1)


def first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    differ = np.flatnonzero(np.any(a != b, axis=1))
    return int(differ[0]) if len(differ) else None


class FlakyClick(ClickBackend):
    """The click model, but steps whose start falls in ``fail_between`` raise."""

    def __init__(self, fail_between: tuple[int, int] = (0, 0), error: type = RuntimeError,
                 bad_output: str | None = None):
        self.fail_between = fail_between
        self.error = error
        self.bad_output = bad_output

    def step(self, state, request):
        audio, new_state = super().step(state, request)
        low, high = self.fail_between
        if low <= request.start < high:
            if self.bad_output == "nan":
                audio[:] = np.nan
                return audio, new_state
            if self.bad_output == "shape":
                return audio[:-1], new_state
            raise self.error(f"boom at {request.start}")
        return audio, new_state


DC_SPACE = StyleSpace("dc/1", 1, ("level",))


class SteppedDC(Backend):
    """Fixed blocks of constant value that jump at every block, with an
    overlap tail: only the engine's crossfade can make its joins smooth."""

    name = "stepped-dc"
    block_size = 960
    capabilities = Capabilities(variable_blocks=False, overlap=240)
    style_space = DC_SPACE

    def embed_text(self, text):
        return Style([0.5], DC_SPACE, text)

    def embed_audio(self, clip):
        return Style([float(np.abs(clip.samples).mean())], DC_SPACE, "audio")

    def default_style(self):
        return Style([0.5], DC_SPACE, "default")

    def initial_state(self):
        return 0

    def step(self, state, request):
        value = 0.5 if state % 2 == 0 else -0.5
        audio = np.full((request.frames + self.capabilities.overlap, 2), value, dtype=np.float32)
        return audio, state + 1


@pytest.fixture
def click():
    return ClickBackend()


class FreeClick(ClickBackend):
    """A click model that ignores the engine's tempo and keeps its own, like a
    model without tempo lock (Magenta RT): the engine has to follow it."""

    name = "free-click"
    capabilities = Capabilities(tempo_lock=False, variable_blocks=True, sampling=frozenset({"seed"}))

    def __init__(self, bpm: float = 97.0, offset: int = 7000):
        from fractions import Fraction

        from livemusic_kernel.tempo import Segment, TempoMap

        # Beat 0 falls `offset` samples in: out of phase with the engine's own grid.
        self.own = TempoMap(sample_rate=48000, _segments=(
            Segment(Fraction(offset), Fraction(0), Fraction(str(bpm))),))

    def step(self, state, request):
        from dataclasses import replace

        return super().step(state, replace(request, tempo=self.own, beat=self.own.beat_at(request.start)))


@pytest.fixture(scope="module")
def jack_server():
    """A real JACK server with a dummy driver: a real audio clock without a sound card."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (.ci/run installs jackd2 as root)")
    server = subprocess.Popen(["jackd", "-r", "-d", "dummy", "-r", "48000", "-p", "1024"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while subprocess.run(["jack_lsp"], capture_output=True).returncode != 0:  # until the server answers
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"jackd did not start (another JACK server running?): {server.communicate()[1][-1000:]}")
        time.sleep(0.2)
    yield server
    server.terminate()
    server.wait(timeout=10)
