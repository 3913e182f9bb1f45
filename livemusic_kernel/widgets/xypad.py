"""The XY pad: four corner prompts, and a dot that blends them.

The corners are four prompt slots (``pad-nw``, ``pad-ne``, ``pad-sw``,
``pad-se`` by default) whose weights are the dot's bilinear coordinates times
``gain``: at a corner that prompt alone, in the middle all four equally. They
blend with the engine's other slots like any others, so the PromptMixer shows
them move as the dot does. The pad adds its slots only when first played (a
drag, a key, or :meth:`XYPad.move`), so showing it never changes the music.

The dot also follows the engine: weights set from code or OSC move it to
``x = (w_ne + w_se) / sum``, ``y = (w_sw + w_se) / sum``, which inverts the
bilinear weights exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import traitlets

from ..engine import Engine
from ..style import Prompt
from ._base import InstrumentWidget, Pending, frontend_file, integer, number, request, text

__all__ = ["XYPad", "CORNERS", "bilinear"]

#: The corners, in the order of every list the pad keeps: top left, top right, bottom left, bottom right.
CORNERS = ("nw", "ne", "sw", "se")
DEFAULT_CORNERS = ("minimal techno", "ambient pads", "dub techno", "jazz piano")


def bilinear(x: float, y: float) -> tuple[float, float, float, float]:
    """The corner weights (nw, ne, sw, se) of a point; ``y`` grows downwards. They sum to 1."""
    return ((1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y)


class XYPad(InstrumentWidget):
    """Blend four corner prompts by dragging a dot (or with the arrow keys)."""

    _esm = frontend_file("xypad.js")

    #: The corner prompts, in CORNERS order.
    corners = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: The slots the corners play in, in CORNERS order.
    slots = traitlets.List(traitlets.Unicode()).tag(sync=True)
    x = traitlets.Float(0.5).tag(sync=True)
    y = traitlets.Float(0.5).tag(sync=True)
    #: The corner slots' weights in the engine, in CORNERS order.
    weights = traitlets.List(traitlets.Float()).tag(sync=True)
    #: True once the pad's slots are in the engine.
    engaged = traitlets.Bool(False).tag(sync=True)
    gain = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, engine: Engine, corners: Sequence[str] = DEFAULT_CORNERS, *, prefix: str = "pad",
                 gain: float = 1.0, x: float = 0.5, y: float = 0.5, engage: bool = False, **kwargs: Any):
        corners = list(corners)
        if len(corners) != 4 or not all(isinstance(c, str) and c.strip() for c in corners):
            raise ValueError(f"an XY pad has four corner prompts (top left, top right, bottom left, bottom right), "
                             f"each non-empty text; got {corners!r}")
        if not isinstance(prefix, str) or not prefix.strip() or len(prefix) > 40:
            raise ValueError(f"prefix names the pad's slots (prefix-nw, ...): non-empty text up to 40 characters; "
                             f"got {prefix!r}")
        if not 0 < gain <= 100:
            raise ValueError(f"gain is the corners' total weight, above 0 and at most 100; got {gain}")
        x, y = _unit(x, "x"), _unit(y, "y")
        super().__init__(engine, corners=[c.strip() for c in corners],
                         slots=[f"{prefix.strip()}-{c}" for c in CORNERS], gain=float(gain), x=x, y=y,
                         weights=[0.0] * 4, **kwargs)
        self._pending = Pending()
        if engage:
            self.move(x, y)
        self._poll()
        self._follow(self._poll, 0.2)

    def move(self, x: float, y: float) -> None:
        """Put the dot at ``(x, y)`` (0 to 1; ``y`` grows downwards) and the corners' weights with it."""
        x, y = _unit(x, "x"), _unit(y, "y")
        with self._lock:
            for slot, prompt, weight in zip(self.slots, self.corners, bilinear(x, y), strict=True):
                weight *= self.gain
                try:
                    self.engine.set_weight(slot, weight)
                except KeyError:  # not there yet (or cleared from code): the corner's prompt comes (back) in
                    self.engine.set_prompt(slot, Prompt.of_text(prompt, weight))
                self._pending.expect(("weight", slot), round(weight, 6))
            self._pending.expect(("xy",), (round(x, 4), round(y, 4)))
            self._update(x=x, y=y, engaged=True)

    def _poll(self) -> None:
        slots = self.engine.slots
        with self._lock:
            corners = list(self.corners)
            weights = []
            for i, name in enumerate(self.slots):
                slot = slots.get(name)
                if slot is not None and slot.prompt is not None and slot.prompt.kind == "text":
                    corners[i] = self._pending.shown(("corner", i), slot.prompt.text)
                weight = round(float(slot.weight), 6) if slot is not None else 0.0
                weights.append(self._pending.shown(("weight", name), weight))
            # Engaged once a corner is in the engine, or while a move on its way there is pending.
            engaged = any(name in slots for name in self.slots) or bool(self._pending.waiting("weight"))
            x, y = self.x, self.y
            total = sum(weights)
            if engaged and total > 0:
                nw, ne, sw, se = weights
                x, y = self._pending.shown(("xy",), (round((ne + se) / total, 4), round((sw + se) / total, 4)))
            self._update(corners=corners, weights=weights, engaged=engaged, x=x, y=y)

    # -- requests ------------------------------------------------------------------------------------
    @request("move")
    def _request_move(self, content: dict, buffers: list) -> None:
        self.move(number(content, "x", 0, 1), number(content, "y", 0, 1))

    @request("corner")
    def _request_corner(self, content: dict, buffers: list) -> None:
        index = integer(content, "index", 0, 3)
        words = text(content, "text", 500)
        corners = list(self.corners)
        corners[index] = words
        slot = self.slots[index]
        if slot in self.engine.slots:
            self.engine.set_prompt(slot, Prompt.of_text(words, self.engine.slots[slot].weight))
            self._pending.expect(("corner", index), words)
        self._update(corners=corners)


def _unit(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} is a position on the pad from 0 to 1, got {value!r}")
    return float(value)
