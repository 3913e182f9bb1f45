"""The PromptMixer: one row per prompt slot, and the blended style they make.

Each row is a slot: its name, its prompt (text to type, or an audio file to
drop or upload), and its weight on a slider. Rows can be added and removed.
Below them, the style in force (the papers' weighted average of the slots'
embeddings) is drawn as a small bar chart of its strongest dimensions, read
with :meth:`Style.strongest`, so it works for any backend's space.

A row shows the slots as they are in force, so a change scheduled from code
(``at_beat=64``) appears when it lands, and one made from OSC or a clock
callback appears as soon as it does.
"""

from __future__ import annotations

from typing import Any

import traitlets

from ..audio import AudioClip
from ..engine import Engine
from ..style import Prompt, Slot
from ._base import InstrumentWidget, Pending, frontend_file, number, request, text, uploaded_audio

__all__ = ["PromptMixer"]

#: The largest weight a row accepts (weights are relative: the blend divides by their sum).
MAX_WEIGHT = 100.0


class PromptMixer(InstrumentWidget):
    """Edit the engine's prompt slots and see the blended style."""

    _esm = frontend_file("mixer.js")

    #: The slots: [{"name", "kind" ("text", "audio" or "style"), "text", "weight"}], in the engine's order.
    slots = traitlets.List().tag(sync=True)
    #: The style in force: {"space", "label", "bars": [[dimension, value], ...] strongest first}.
    #: (Not named ``style``: ipywidgets' views take a ``style`` trait for a Style widget.)
    blended = traitlets.Dict().tag(sync=True)
    #: The weight sliders' range (any weight up to MAX_WEIGHT can still be typed or set from code).
    max_weight = traitlets.Float(2.0).tag(sync=True)
    bars = traitlets.Int(8).tag(sync=True)

    def __init__(self, engine: Engine, *, max_weight: float = 2.0, bars: int = 8, **kwargs: Any):
        if not 0 < max_weight <= MAX_WEIGHT:
            raise ValueError(f"max_weight is the sliders' top, above 0 and at most {MAX_WEIGHT:g}; got {max_weight}")
        if not 1 <= bars <= 32:
            raise ValueError(f"bars is how many style dimensions to draw, from 1 to 32; got {bars}")
        super().__init__(engine, max_weight=float(max_weight), bars=bars, **kwargs)
        self._pending = Pending()
        self._uploads: dict[str, tuple[AudioClip, str]] = {}
        self._poll()
        self._follow(self._poll, 0.2)

    # -- following the engine ------------------------------------------------------------------------
    def _poll(self) -> None:
        with self._lock:
            self._update(slots=self._rows(), blended=self._style())

    def _rows(self) -> list[dict[str, Any]]:
        pending = self._pending
        rows = {slot.name: self._row(slot) for slot in self.engine.slots.values()}
        for name in pending.waiting("new"):
            if pending.shown(("new", name), name in rows) and name not in rows:
                rows[name] = {"name": name, "kind": "text", "text": "", "weight": 1.0}
        shown = []
        for name, row in rows.items():
            if pending.shown(("gone", name), False):
                continue  # removed by a view: hidden until the engine lets it go (then it is not in rows)
            row["text"] = pending.shown(("text", name), row["text"])
            row["weight"] = pending.shown(("weight", name), row["weight"])
            shown.append(row)
        return shown

    def _row(self, slot: Slot) -> dict[str, Any]:
        prompt = slot.prompt
        if prompt is None:
            kind, words = "style", slot.style.label or "a style"
        elif prompt.kind == "text":
            kind, words = "text", prompt.text
        elif prompt.path is not None:
            kind, words = "audio", prompt.path.name
        else:
            upload = self._uploads.get(slot.name)
            kind, words = "audio", upload[1] if upload and upload[0] is prompt.clip else "audio clip"
        return {"name": slot.name, "kind": kind, "text": words, "weight": round(float(slot.weight), 6)}

    def _style(self) -> dict[str, Any]:
        style = self.engine.style
        return {"space": style.space.name, "label": style.label,
                "bars": [[name, float(f"{value:.4g}")] for name, value in style.strongest(self.bars)]}

    # -- requests ------------------------------------------------------------------------------------
    @request("prompt")
    def _request_prompt(self, content: dict, buffers: list) -> None:
        slot = text(content, "slot", 64)
        words = text(content, "text", 500)
        weight = self._requested_weight(content, slot)
        # Always text: a browser never names a file on the kernel's machine (uploads send the audio itself).
        self.engine.set_prompt(slot, Prompt.of_text(words, weight))
        self._expect(slot, words, weight)

    @request("weight")
    def _request_weight(self, content: dict, buffers: list) -> None:
        slot = text(content, "slot", 64)
        weight = number(content, "weight", 0, MAX_WEIGHT)
        self.engine.set_weight(slot, weight)
        self._pending.expect(("weight", slot), weight)
        self._update(slots=self._rows())

    @request("remove")
    def _request_remove(self, content: dict, buffers: list) -> None:
        slot = text(content, "slot", 64)
        self.engine.clear_prompt(slot)
        self._uploads.pop(slot, None)
        self._pending.expect(("gone", slot), True)
        self._update(slots=self._rows())

    @request("audio")
    def _request_audio(self, content: dict, buffers: list) -> None:
        slot = text(content, "slot", 64)
        name = text(content, "filename", 200)
        weight = self._requested_weight(content, slot)
        clip = uploaded_audio(buffers, name, "give its path from code with set_prompt()")
        self.engine.set_prompt(slot, Prompt.of_audio(clip, weight))
        self._uploads[slot] = (clip, name)
        self._expect(slot, name, weight)

    def _requested_weight(self, content: dict, slot: str) -> float:
        """The weight a request gives; without one a slot keeps its weight, and a new slot gets 1."""
        if content.get("weight") is not None:
            return number(content, "weight", 0, MAX_WEIGHT)
        return next((float(row["weight"]) for row in self.slots if row["name"] == slot), 1.0)

    def _expect(self, slot: str, words: str, weight: float) -> None:
        self._pending.forget(("gone", slot))
        self._pending.expect(("new", slot), True)
        self._pending.expect(("text", slot), words)
        self._pending.expect(("weight", slot), weight)
        self._update(slots=self._rows())

