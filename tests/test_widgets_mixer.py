"""The PromptMixer: rows that follow the engine's slots (from any source), requests that steer it,
audio uploads, the blended style's bars, and what it refuses."""

from __future__ import annotations

import io
import math

import _widgets
import numpy as np
import pytest
import soundfile
from _widgets import ok, refused, wait_until

from livemusic_kernel.widgets import PromptMixer
from livemusic_kernel.widgets import _base as base_module

frontend = _widgets.frontend
engine = _widgets.engine
RATE = 48000




def land(engine, mixer):
    """Let posted changes land (offline: render a block) and let the mixer read the engine."""
    engine.render(0.05)
    mixer._poll()


def wav_bytes(hz=440.0, seconds=1.0, subtype="PCM_16"):
    t = np.arange(int(seconds * RATE)) / RATE
    out = io.BytesIO()
    soundfile.write(out, 0.5 * np.sin(2 * math.pi * hz * t), RATE, format="WAV", subtype=subtype)
    return out.getvalue()


def rows(mixer):
    return {row["name"]: row for row in mixer.slots}


def test_rows_and_bars_show_the_slots_and_the_blended_style(frontend, engine, tmp_path):
    path = tmp_path / "loop.wav"
    path.write_bytes(wav_bytes())
    engine.set_prompt("air", "A5", weight=0.5)
    engine.set_prompt("loop", str(path), weight=0.25)
    engine.render(0.05)
    mixer = PromptMixer(engine, bars=3)
    assert mixer.slots == [{"name": "main", "kind": "text", "text": "C4", "weight": 1.0},
                           {"name": "air", "kind": "text", "text": "A5", "weight": 0.5},
                           {"name": "loop", "kind": "audio", "text": "loop.wav", "weight": 0.25}]
    blended = mixer.blended
    assert blended["space"] == "click/1" and len(blended["bars"]) == 3
    assert blended["bars"] == [[name, float(f"{v:.4g}")] for name, v in engine.style.strongest(3)]
    assert frontend.state(mixer)["slots"] == mixer.slots  # what a new view renders from
    engine.set_style(engine.embed("E4"))
    land(engine, mixer)
    assert mixer.slots == [{"name": "style", "kind": "style", "text": "E4", "weight": 1.0}]
    mixer.close()


def test_a_weight_drag_changes_the_engine_and_the_row_does_not_jump_back(frontend, engine):
    mixer = PromptMixer(engine)
    ok(frontend.send(mixer, {"type": "weight", "slot": "main", "weight": 0.3}))
    assert engine.slots["main"].weight == 1.0  # posted, not landed yet ...
    assert rows(mixer)["main"]["weight"] == 0.3  # ... but every view already shows it
    land(engine, mixer)
    assert engine.slots["main"].weight == 0.3 and rows(mixer)["main"]["weight"] == 0.3
    mixer.close()


def test_a_prompt_typed_in_a_row_is_always_text_and_keeps_the_slots_weight(frontend, engine):
    mixer = PromptMixer(engine)
    ok(frontend.send(mixer, {"type": "weight", "slot": "main", "weight": 0.7}))
    ok(frontend.send(mixer, {"type": "prompt", "slot": "main", "text": "E4"}))
    ok(frontend.send(mixer, {"type": "prompt", "slot": "new", "text": "/etc/passwd.wav"}))  # never read as a file
    assert [row["name"] for row in mixer.slots] == ["main", "new"]  # a new row shows before it lands
    land(engine, mixer)
    assert engine.slots["main"].prompt.text == "E4" and engine.slots["main"].weight == 0.7
    new = engine.slots["new"]
    assert new.prompt.kind == "text" and new.prompt.text == "/etc/passwd.wav" and new.weight == 1.0
    ok(frontend.send(mixer, {"type": "prompt", "slot": "w", "text": "G4", "weight": 0.2}))
    land(engine, mixer)
    assert rows(mixer)["w"] == {"name": "w", "kind": "text", "text": "G4", "weight": 0.2}
    mixer.close()


def test_remove_takes_a_row_away_at_once(frontend, engine):
    engine.set_prompt("air", "A5")
    engine.render(0.05)
    mixer = PromptMixer(engine)
    ok(frontend.send(mixer, {"type": "remove", "slot": "air"}))
    assert [row["name"] for row in mixer.slots] == ["main"]
    land(engine, mixer)
    assert list(engine.slots) == ["main"] and [row["name"] for row in mixer.slots] == ["main"]
    mixer.close()


def test_an_uploaded_audio_file_becomes_the_rows_prompt(frontend, engine):
    mixer = PromptMixer(engine)
    ok(frontend.send(mixer, {"type": "audio", "slot": "loop", "filename": "a440.wav", "weight": 0.5},
                     [wav_bytes(440.0)]))
    land(engine, mixer)
    slot = engine.slots["loop"]
    assert slot.prompt.kind == "audio" and slot.prompt.clip.sample_rate == RATE and slot.weight == 0.5
    assert slot.style.as_dict()["pitch"] == pytest.approx(69, abs=0.2)  # the click model heard A4
    assert rows(mixer)["loop"] == {"name": "loop", "kind": "audio", "text": "a440.wav", "weight": 0.5}
    mixer.close()


def test_uploads_that_are_not_audio_or_too_large_are_refused(frontend, engine, monkeypatch):
    mixer = PromptMixer(engine)
    upload = {"type": "audio", "slot": "loop", "filename": "x.wav"}
    refused(frontend.send(mixer, upload, [b"RIFF but not really a wave file"]), "cannot read x.wav as audio",
            "readable formats:", "WAV")
    refused(frontend.send(mixer, upload, [b""]), "x.wav is empty")
    refused(frontend.send(mixer, upload, []), "one binary buffer, got 0")
    refused(frontend.send(mixer, upload, [wav_bytes(), wav_bytes()]), "one binary buffer, got 2")
    monkeypatch.setattr(base_module, "MAX_UPLOAD", 1000)
    refused(frontend.send(mixer, upload, [wav_bytes()]), "the largest upload is")
    refused(frontend.send(mixer, {**upload, "filename": ""}, [wav_bytes()]), "filename must be non-empty text")
    land(engine, mixer)
    assert list(engine.slots) == ["main"] and [row["name"] for row in mixer.slots] == ["main"]
    mixer.close()


@pytest.mark.parametrize(("request_", "words"), [
    ({"type": "weight", "slot": "main", "weight": -0.1}, "weight must be a number from 0 to 100"),
    ({"type": "weight", "slot": "main", "weight": 101}, "weight must be a number from 0 to 100"),
    ({"type": "weight", "slot": "main", "weight": float("nan")}, "weight must be a number"),
    ({"type": "weight", "slot": "main", "weight": "loud"}, "weight must be a number"),
    ({"type": "weight", "slot": "main"}, "the request has no 'weight'"),
    ({"type": "weight", "slot": "ghost", "weight": 0.5}, "no prompt slot 'ghost'; slots: 'main'"),
    ({"type": "weight", "slot": "", "weight": 0.5}, "slot must be non-empty text of at most 64 characters"),
    ({"type": "weight", "slot": "s" * 65, "weight": 0.5}, "slot must be non-empty text"),
    ({"type": "weight", "slot": 3, "weight": 0.5}, "slot must be non-empty text"),
    ({"type": "prompt", "slot": "main", "text": ""}, "text must be non-empty text of at most 500 characters"),
    ({"type": "prompt", "slot": "main", "text": "x" * 501}, "text must be non-empty text"),
    ({"type": "prompt", "slot": "main", "text": "E4", "weight": -1}, "weight must be a number"),
    ({"type": "remove", "slot": "ghost"}, "no prompt slot 'ghost'"),
])
def test_bad_values_from_the_browser_are_refused_and_the_last_good_state_stays(frontend, engine, request_, words):
    mixer = PromptMixer(engine)
    before = list(mixer.slots)
    refused(frontend.send(mixer, request_), words)
    land(engine, mixer)
    assert mixer.slots == before and engine.slots["main"].weight == 1.0 and engine.slots["main"].prompt.text == "C4"
    mixer.close()


def test_changes_from_code_reach_every_view_by_themselves(frontend, engine):
    """No request involved: the poll thread finds the change in the engine and updates the views."""
    mixer = PromptMixer(engine)
    engine.set_prompt("main", "D4", weight=0.6)
    engine.set_prompt("air", "A5", weight=0.1, at_beat=1)  # scheduled: appears when it lands
    engine.render(0.1)
    wait_until(lambda: rows(mixer).get("main", {}).get("text") == "D4")
    assert "air" not in rows(mixer)
    engine.render(0.5)
    wait_until(lambda: "air" in rows(mixer))
    assert frontend.state(mixer)["slots"] == mixer.slots
    mixer.close()


def test_bad_options_are_refused(engine):
    with pytest.raises(ValueError, match="max_weight is the sliders' top"):
        PromptMixer(engine, max_weight=0)
    with pytest.raises(ValueError, match="bars is how many style dimensions to draw, from 1 to 32"):
        PromptMixer(engine, bars=0)
