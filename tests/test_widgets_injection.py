"""The Injection panel's kernel side: its controls are the engine's (set at once, or ramped on the
clock), it injects an uploaded file and stops any source, lists the sources with what they delivered,
shows the input's level, and refuses bad requests with a reason."""

from __future__ import annotations

import io

import _hearing
import _widgets
import numpy as np
import pytest
import soundfile
from _widgets import ok, refused

from livemusic_kernel import Engine
from livemusic_kernel.widgets import Injection

frontend = _widgets.frontend
RATE = 48000


hearing = _hearing.hearing


def wav_bytes(seconds: float = 1.0, frequency: float = 330.0, rate: int = 44100) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    soundfile.write(out, (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), rate, format="WAV")
    return out.getvalue()


def test_the_panel_shows_the_engines_injection_controls_and_sets_them(frontend, hearing):
    engine, _ = hearing
    panel = Injection(engine)
    assert frontend.state(panel)["controls"] == {"inject_mode": "free", "inject_gain": 1.0, "feedback_gain": 1.0,
                                                 "input_gap": 0.0, "loop_beats": 8.0}
    assert panel.hears is True
    ok(frontend.send(panel, {"type": "mode", "mode": "looper"}))
    for name, value in [("inject_gain", 2.5), ("feedback_gain", 0.5), ("input_gap", 0.25), ("loop_beats", 4)]:
        ok(frontend.send(panel, {"type": "control", "name": name, "value": value}))
    assert panel.controls["inject_mode"] == "looper"  # shown at once, before the engine takes it
    engine.render(0.1)
    controls = engine.controls
    assert (controls.inject_mode, controls.inject_gain, controls.feedback_gain, controls.input_gap,
            controls.loop_beats) == ("looper", 2.5, 0.5, 0.25, 4.0)
    panel._poll()  # the panel sees the engine reach what it asked for
    engine.set(inject_gain=0.75)  # from code: the panel follows
    engine.render(0.1)
    panel._poll()
    assert frontend.state(panel)["controls"]["inject_gain"] == 0.75
    panel.close()


def test_with_a_glide_a_slider_ramps_the_control_on_the_clock(frontend, hearing):
    engine, _ = hearing
    panel = Injection(engine)
    ok(frontend.send(panel, {"type": "glide", "beats": 4}))
    assert panel.glide_beats == 4
    ok(frontend.send(panel, {"type": "control", "name": "inject_gain", "value": 3.0}))
    engine.render(1.0)  # two beats of four at 120 BPM: half way
    assert 1.8 < engine.controls.inject_gain < 2.2
    engine.render(1.1)
    assert engine.controls.inject_gain == 3.0
    panel.close()


def test_an_uploaded_file_is_injected_listed_heard_and_stopped(frontend, hearing):
    engine, backend = hearing
    panel = Injection(engine)
    result = ok(frontend.send(panel, {"type": "file", "filename": "riff.wav", "loop": False}, [wav_bytes()]))
    assert result["seconds"] == 1.0
    assert [row["name"] for row in panel.sources] == ["1.00 s array"]  # listed at once
    engine.render(3.0)
    panel._poll()
    assert panel.sources == [] or panel.sources[0]["received_s"] == 1.0
    assert engine._injector.delivered_frames >= RATE
    heard = backend.context(3 * RATE)
    assert 0.45 < np.abs(heard).max() < 0.51  # the file, resampled to 48 kHz, reached the model
    # A looped file plays until it is stopped.
    looped = ok(frontend.send(panel, {"type": "file", "filename": "riff.wav"}, [wav_bytes()]))
    engine.render(3.0)
    panel._poll()
    row = next(row for row in panel.sources if row["id"] == looped["id"])
    assert row["received_s"] > 1.5 and row["name"] == "1.00 s array (looped)"
    ok(frontend.send(panel, {"type": "stop", "id": looped["id"]}))
    engine.render(1.0)
    panel._poll()
    assert panel.sources == [] and not engine.injections
    panel.close()


def test_the_level_of_the_input_the_model_gets_is_shown(frontend, hearing):
    engine, _ = hearing
    panel = Injection(engine)
    panel._poll()
    assert panel.level == {"rms_db": None, "peak_db": None}
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)
    panel.inject(tone.astype(np.float32))
    engine.render(1.0)
    panel._poll()
    assert panel.level["peak_db"] == pytest.approx(20 * np.log10(0.5), abs=0.1)
    assert panel.level["rms_db"] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.2)
    panel.close()
    assert engine._injector._listeners == ()


def test_bad_requests_are_refused_with_the_choices_and_change_nothing(frontend, hearing):
    engine, _ = hearing
    panel = Injection(engine)
    refused(frontend.send(panel, {"type": "mode", "mode": "reverse"}), "unknown injection mode 'reverse'",
            "free, looper")
    refused(frontend.send(panel, {"type": "mode"}), "the request has no 'mode'")
    refused(frontend.send(panel, {"type": "control", "name": "temperature", "value": 1}),
            "unknown injection control 'temperature'", "inject_gain, feedback_gain, input_gap, loop_beats")
    for name, value in [("inject_gain", -1), ("inject_gain", 100), ("loop_beats", 0.1), ("input_gap", "1"),
                        ("feedback_gain", None), ("input_gap", float("nan"))]:
        refused(frontend.send(panel, {"type": "control", "name": name, "value": value}), name)
    for beats in (3, -1, 1.5, "4"):
        refused(frontend.send(panel, {"type": "glide", "beats": beats}), "glide" if beats == 3 else "beats")
    upload = {"type": "file", "filename": "x.wav"}
    refused(frontend.send(panel, upload, [b"not audio at all"]), "cannot read x.wav as audio", "readable formats")
    refused(frontend.send(panel, upload, []), "one binary buffer, got 0")
    refused(frontend.send(panel, {**upload, "loop": "yes"}, [wav_bytes()]), "loop must be true or false")
    refused(frontend.send(panel, {"type": "stop", "id": 99}), "no source 99 is injecting; sources now: none")
    refused(frontend.send(panel, {"type": "stop", "id": "1"}), "id must be a whole number")
    engine.render(0.2)
    controls = engine.controls
    assert (controls.inject_mode, controls.inject_gain, controls.feedback_gain, controls.input_gap,
            controls.loop_beats) == ("free", 1.0, 1.0, 0.0, 8.0)
    assert panel.glide_beats == 0 and not engine.injections and panel.sources == []
    panel.close()


def test_a_model_that_cannot_hear_input_says_so_and_refuses_files(frontend):
    engine = Engine("click", sink=None, quiet=True)
    panel = Injection(engine)
    assert panel.hears is False
    refused(frontend.send(panel, {"type": "file", "filename": "riff.wav"}, [wav_bytes()]),
            "backend 'click' cannot hear injected audio")
    panel.close()
    engine.close()


def test_bad_options_are_refused(hearing):
    with pytest.raises(ValueError, match="glide_beats is one of 0, 1, 2, 4, 8, 16; got 3"):
        Injection(hearing[0], glide_beats=3)
