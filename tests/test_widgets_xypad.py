"""The XY pad: bilinear corner weights, four slots that appear only when played, a dot that follows
weights set from code, corner prompts, and what it refuses."""

from __future__ import annotations

import _widgets
import pytest
from _widgets import ok, refused, wait_until

from livemusic_kernel.widgets import XYPad
from livemusic_kernel.widgets.xypad import bilinear

frontend = _widgets.frontend
engine = _widgets.engine
CORNERS = ["C4", "E4", "G4", "B4"]
SLOTS = ["pad-nw", "pad-ne", "pad-sw", "pad-se"]




def weights(engine):
    return [engine.slots[name].weight if name in engine.slots else None for name in SLOTS]


@pytest.mark.parametrize(("x", "y", "expected"), [
    (0, 0, (1, 0, 0, 0)), (1, 0, (0, 1, 0, 0)), (0, 1, (0, 0, 1, 0)), (1, 1, (0, 0, 0, 1)),
    (0.5, 0.5, (0.25, 0.25, 0.25, 0.25)), (0.25, 0.5, (0.375, 0.125, 0.375, 0.125))])
def test_bilinear_weights(x, y, expected):
    assert bilinear(x, y) == pytest.approx(expected)


def test_showing_the_pad_changes_nothing_and_a_drag_brings_its_corners_in(frontend, engine):
    pad = XYPad(engine, CORNERS)
    engine.render(0.1)
    assert list(engine.slots) == ["main"] and pad.engaged is False
    assert frontend.state(pad)["slots"] == SLOTS and frontend.state(pad)["corners"] == CORNERS
    ok(frontend.send(pad, {"type": "move", "x": 0.25, "y": 0.5}))
    assert (pad.x, pad.y, pad.engaged) == (0.25, 0.5, True)
    engine.render(0.05)
    assert weights(engine) == pytest.approx([0.375, 0.125, 0.375, 0.125])
    assert [engine.slots[name].prompt.text for name in SLOTS] == CORNERS
    assert engine.slots["main"].weight == 1.0  # the pad blends with the other slots, it does not replace them
    ok(frontend.send(pad, {"type": "move", "x": 1, "y": 0}))
    engine.render(0.05)
    assert weights(engine) == [0, 1, 0, 0]
    pad._poll()
    assert (pad.x, pad.y, pad.weights) == (1.0, 0.0, [0, 1, 0, 0])
    pad.close()


def test_gain_scales_the_corners_and_engage_plays_at_once(frontend, engine):
    pad = XYPad(engine, CORNERS, gain=2, x=0, y=0, engage=True, prefix="xy")
    engine.render(0.05)
    assert [engine.slots[f"xy-{c}"].weight for c in ("nw", "ne", "sw", "se")] == [2, 0, 0, 0]
    pad.close()


def test_the_dot_follows_weights_set_from_code(frontend, engine):
    pad = XYPad(engine, CORNERS, engage=True)
    engine.render(0.05)
    for slot, weight in zip(SLOTS, [0.0, 0.3, 0.0, 0.9], strict=True):  # x = 1.2 / 1.2, y = 0.9 / 1.2
        engine.set_weight(slot, weight)
    engine.render(0.05)
    wait_until(lambda: (pad.x, pad.y) == (1.0, 0.75), what="the dot following the engine")
    assert pad.weights == [0.0, 0.3, 0.0, 0.9] and frontend.state(pad)["x"] == 1.0
    pad.close()


def test_a_corner_prompt_changes_its_slot_and_keeps_its_weight(frontend, engine):
    pad = XYPad(engine, CORNERS)
    ok(frontend.send(pad, {"type": "corner", "index": 2, "text": "F4"}))  # not playing yet: just remembered
    assert pad.corners == ["C4", "E4", "F4", "B4"] and "pad-sw" not in engine.slots
    ok(frontend.send(pad, {"type": "move", "x": 0, "y": 1}))
    engine.render(0.05)
    assert engine.slots["pad-sw"].prompt.text == "F4" and engine.slots["pad-sw"].weight == 1.0
    ok(frontend.send(pad, {"type": "corner", "index": 2, "text": "A4"}))
    engine.render(0.05)
    pad._poll()
    assert engine.slots["pad-sw"].prompt.text == "A4" and engine.slots["pad-sw"].weight == 1.0
    assert pad.corners[2] == "A4"
    engine.set_prompt("pad-ne", "D5", weight=0.0)  # from code: the corner's label follows
    engine.render(0.05)
    wait_until(lambda: pad.corners[1] == "D5")
    pad.close()


def test_a_cleared_corner_comes_back_on_the_next_move(frontend, engine):
    pad = XYPad(engine, CORNERS, engage=True)
    engine.render(0.05)
    engine.clear_prompt("pad-nw")
    engine.render(0.05)
    ok(frontend.send(pad, {"type": "move", "x": 0, "y": 0}))
    engine.render(0.05)
    assert engine.slots["pad-nw"].prompt.text == "C4" and weights(engine) == [1, 0, 0, 0]
    pad.close()


@pytest.mark.parametrize(("request_", "words"), [
    ({"type": "move", "x": 1.5, "y": 0.5}, "x must be a number from 0 to 1"),
    ({"type": "move", "x": 0.5, "y": -0.1}, "y must be a number from 0 to 1"),
    ({"type": "move", "x": None, "y": 0.5}, "x must be a number"),
    ({"type": "move", "x": float("inf"), "y": 0.5}, "x must be a number"),
    ({"type": "move", "y": 0.5}, "the request has no 'x'"),
    ({"type": "corner", "index": 4, "text": "D4"}, "index must be a whole number from 0 to 3"),
    ({"type": "corner", "index": "1", "text": "D4"}, "index must be a whole number"),
    ({"type": "corner", "index": 1, "text": " "}, "text must be non-empty text"),
])
def test_bad_values_from_the_browser_are_refused(frontend, engine, request_, words):
    pad = XYPad(engine, CORNERS)
    refused(frontend.send(pad, request_), words)
    engine.render(0.05)
    assert (pad.x, pad.y, pad.corners, pad.engaged) == (0.5, 0.5, CORNERS, False)
    assert list(engine.slots) == ["main"]
    pad.close()


def test_bad_options_are_refused(engine):
    with pytest.raises(ValueError, match="an XY pad has four corner prompts"):
        XYPad(engine, ["a", "b", "c"])
    with pytest.raises(ValueError, match="an XY pad has four corner prompts"):
        XYPad(engine, ["a", "b", "c", ""])
    with pytest.raises(ValueError, match="prefix names the pad's slots"):
        XYPad(engine, CORNERS, prefix="")
    with pytest.raises(ValueError, match="gain is the corners' total weight"):
        XYPad(engine, CORNERS, gain=0)
    with pytest.raises(ValueError, match="x is a position on the pad from 0 to 1"):
        XYPad(engine, CORNERS, x=2)
