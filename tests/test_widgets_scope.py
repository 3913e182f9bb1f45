"""The Scope: levels and spectrogram columns measured against known signals, the frames it sends,
the history a new view gets, and its options."""

from __future__ import annotations

import math

import _widgets
import numpy as np
import pytest
from _widgets import ok, wait_until

from livemusic_kernel import Engine
from livemusic_kernel.widgets import Scope
from livemusic_kernel.widgets.scope import Analyser

frontend = _widgets.frontend
RATE = 48000


def sine(hz, seconds=0.2, amplitude=1.0):
    t = np.arange(int(seconds * RATE)) / RATE
    mono = (amplitude * np.sin(2 * math.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono * 0.5], axis=1)


def test_levels_of_a_full_scale_sine():
    peak, rms, _ = Analyser(RATE, 2).feed(sine(1000))
    assert peak[0] == pytest.approx(0.0, abs=0.05) and peak[1] == pytest.approx(-6.02, abs=0.05)
    assert rms[0] == pytest.approx(-3.01, abs=0.05) and rms[1] == pytest.approx(-9.03, abs=0.05)


@pytest.mark.parametrize("hz", [100.0, 1000.0, 8000.0])
def test_a_sine_lights_the_band_that_holds_its_frequency(hz):
    analyser = Analyser(RATE, 2, bands=64)
    column = np.frombuffer(analyser.feed(sine(hz, amplitude=0.5))[2], dtype=np.uint8)
    band = int(np.searchsorted(analyser.edges, hz)) - 1
    assert len(column) == 64
    assert abs(int(np.argmax(column)) - band) <= 1
    # The mono mix is (0.5 + 0.25) / 2 of full scale, -8.5 dB: byte 255 * (90 - 8.5) / 90 on a -90 dB scale,
    # give or take the Hann window's scalloping between bins (at most 1.4 dB, 4 steps).
    expected = 255 * (90 + 20 * math.log10(0.375)) / 90
    assert abs(int(column.max()) - expected) <= 5
    assert np.median(column) == 0


def test_silence_is_the_floor():
    peak, rms, column = Analyser(RATE, 2).feed(np.zeros((4800, 2), dtype=np.float32))
    assert peak == [-200.0, -200.0] and rms == [-200.0, -200.0]
    assert set(column) == {0}


def test_the_scope_sends_a_frame_per_analysis_and_history_to_a_new_view(frontend):
    engine = Engine("click", sink=None, prompts={"main": "A4"})
    scope = Scope(engine, bands=32, fps=50, history=10)
    engine.render(1.0)
    wait_until(lambda: sum(len(b[0]) for _, b in frontend.custom(scope, "frame")) >= 32)
    header, buffers = frontend.custom(scope, "frame")[0]
    assert set(header) == {"type", "sample", "peak", "rms"} and len(header["peak"]) == 2
    assert len(buffers) == 1 and len(buffers[0]) == 32
    wait_until(lambda: len(scope.columns) == min(10, len(frontend.custom(scope, "frame"))))
    assert ok(frontend.send(scope, {"type": "history"})) == {"columns": len(scope.columns)}
    history, history_buffers = frontend.custom(scope, "history")[-1]
    assert history["columns"] == len(scope.columns) and history_buffers[0] == b"".join(scope.columns)
    scope.close()
    assert engine._listeners == ()
    engine.close()


def test_bad_options_are_refused():
    engine = Engine("click", sink=None)
    for options, words in [({"fps": 0}, "fps is the spectrogram columns a second"),
                           ({"history": 0}, "history is how many columns a new view gets"),
                           ({"bands": 4}, "bands is the spectrogram's rows, from 8 to 256"),
                           ({"low_hz": 0}, "the spectrogram needs 0 < low_hz < high_hz"),
                           ({"floor_db": 0}, "floor_db is the quietest level drawn")]:
        with pytest.raises(ValueError, match=words):
            Scope(engine, **options)
    assert engine._listeners == ()
