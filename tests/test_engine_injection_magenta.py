"""Engine.inject with the Magenta RT 2 backend: the same API puts the input into the model's context
(the tiny model: the package's real classes at toy size, random weights, no download)."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest
from conftest import first_difference

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11) or platform.system() == "Windows",
    reason="magenta-rt (the magenta extra) installs only on Linux and macOS with Python 3.11 or newer")

from livemusic_kernel import Engine  # noqa: E402
from livemusic_kernel.models.magenta import MagentaBackend  # noqa: E402

RATE = 48000


@pytest.fixture(scope="module")
def tiny() -> MagentaBackend:
    return MagentaBackend("tiny", frames_per_block=2)


def played(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return np.stack([mono, mono], axis=1).astype(np.float32)


def render(tiny, seconds, setup=None):
    engine = Engine(tiny, sink=None, quiet=True, follow_tempo=False)
    handle = setup(engine) if setup else None
    out = engine.render(seconds)
    engine.close()
    return out, handle


@pytest.mark.parametrize("mode", ["free", "looper"])
def test_injected_input_reaches_the_context_and_is_never_played(tiny, mode):
    assert tiny.can_inject
    plain, _ = render(tiny, 2.0)
    input_ = played(2.0)

    def inject(engine):
        engine.set(inject_mode=mode, loop_beats=1, at_sample=0)
        return engine.inject(input_, at_sample=0)

    heard, handle = render(tiny, 2.0, inject)
    assert handle.received > 0 and tiny.block_size == 2 * 1920
    differ = first_difference(plain, heard)
    # The model continues a context that holds the input: its output changes, but only after the
    # input reached it (free: a steady delay after it was played; looper: one loop later).
    assert differ is not None and differ >= 1920
    assert max(abs(np.corrcoef(input_[:, 0], heard[:, ch])[0, 1]) for ch in (0, 1)) < 0.1


def test_injection_is_deterministic_offline(tiny):
    def inject(engine):
        return engine.inject(played(1.5), at_sample=0)

    first, _ = render(tiny, 1.5, inject)
    again, _ = render(tiny, 1.5, inject)
    assert np.array_equal(first, again)
