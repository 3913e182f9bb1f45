"""The Timeline: what is scheduled, on a strip of bars that moves with the clock.

Three kinds of things are scheduled, and each gets a lane:

* **changes** posted for a later beat or sample (``set_prompt(..., at_beat=64)``,
  ``set_bpm(..., at_beat=...)``): :meth:`Engine.pending_changes`;
* **morphs and ramps**, as spans from where they start to where they end:
  pending ``morph``/``ramp`` calls and those in progress (:attr:`Engine.automations`);
* **callbacks** on the clock (``clock.at``, ``every``, ``cue``, ``sequence``):
  their next run, from :attr:`Clock.pending`.

Positions are beats; the view scrolls them past a playhead in time with the
music, ticking along between the kernel's few updates a second.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import traitlets

from ..engine import Engine
from ..style import Slot
from ..timeline import Automate, Automation, Change, Event, SetSlots
from ._base import InstrumentWidget, clock_state, frontend_file, number, request

__all__ = ["Timeline", "describe_change", "describe_callback"]

#: The most items sent to the view (the soonest), whatever a script scheduled.
MAX_ITEMS = 200


def _prompt_words(slot: Slot) -> str:
    if slot.prompt is None:
        return slot.style.label or "a style"
    return slot.prompt.text if slot.prompt.kind == "text" else (slot.prompt.path.name if slot.prompt.path else "audio")


def describe_change(change: Change) -> str:
    """A few words a performer reads at a glance: "main ← dub techno", "128 BPM", ..."""
    kind, data = change.kind, change.to_json()
    if kind == "set_slot":
        return f"{change.slot.name} ← {_prompt_words(change.slot)} ({change.slot.weight:g})"
    if kind == "set_weight":
        return f"{data['slot']} weight {data['weight']:g}"
    if kind == "clear_slot":
        return f"clear {data['slot']}"
    if kind == "clear_slots":
        return "clear all prompts"
    if kind == "set_style":
        return f"style {change.style.label or ''}".strip()
    if kind == "set_slots":
        return "prompts: " + ", ".join(f"{s.name} ← {_prompt_words(s)}" for s in change.slots.values())
    if kind == "set_params":
        # Numbers read as numbers; inject_mode is a word ("free", "looper").
        return ", ".join(f"{name} {value}" if isinstance(value, str) else f"{name} {value:g}"
                         for name, value in change.values)
    if kind == "set_tempo":
        ramp = f" over {float(change.ramp_beats):g} beats" if change.ramp_beats else ""
        return f"{float(change.bpm):g} BPM{ramp}"
    if kind == "set_meter":
        return f"{change.beats_per_bar} beats a bar"
    if kind == "set_note":
        return "all notes off" if change.note is None else f"note {'on' if change.on else 'off'} {change.note}"
    if kind == "set_backend":
        return f"model {data['name']}"
    if kind == "automate":
        return describe_automation(change.automation)
    return kind.replace("_", " ")


def describe_automation(automation: Automation) -> str:
    if automation.target == "style":
        if isinstance(automation.then, SetSlots):  # a morph to prompts: name where each slot ends up
            return "morph to " + ", ".join(f"{s.name} ← {_prompt_words(s)}" for s in automation.then.slots.values())
        return f"morph to {automation.to.label or 'a style'}"
    to = automation.to.label if hasattr(automation.to, "label") else f"{automation.to:g}"
    return f"ramp {automation.target} to {to}"


def describe_callback(fn: Any) -> str:
    """A scheduled function's name, or what made it (a sequence, a lambda)."""
    qualname = getattr(fn, "__qualname__", "") or repr(fn)
    if ".sequence.<locals>." in qualname:
        return "sequence step"
    if qualname.endswith("<lambda>"):
        return "lambda"
    if hasattr(fn, "__self__") and hasattr(fn, "__name__"):  # a bound method, e.g. handle.cancel
        return f"{type(fn.__self__).__name__}.{fn.__name__}"
    return qualname.rsplit(".<locals>.", 1)[-1]


class Timeline(InstrumentWidget):
    """What is scheduled, moving with the clock."""

    _esm = frontend_file("timeline.js")

    #: Scheduled items, soonest first: {"lane": "change"|"morph"|"callback", "label", "beat", "end"?, "now"?}.
    items = traitlets.List().tag(sync=True)
    clock = traitlets.Dict().tag(sync=True)
    #: Bars shown ahead of the playhead, and behind it.
    bars_ahead = traitlets.Float(8.0).tag(sync=True)
    bars_behind = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, engine: Engine, *, bars_ahead: float = 8, bars_behind: float = 1, **kwargs: Any):
        bars_ahead, bars_behind = _bars(bars_ahead, "bars_ahead", 1), _bars(bars_behind, "bars_behind", 0)
        super().__init__(engine, bars_ahead=bars_ahead, bars_behind=bars_behind, **kwargs)
        self._poll()
        self._follow(self._poll, 0.25)

    def _poll(self) -> None:
        self._update(clock=clock_state(self.engine), items=self.scheduled())

    def scheduled(self) -> list[dict[str, Any]]:
        """What the view draws: the engine's pending changes, its morphs and ramps, the clock's callbacks."""
        engine = self.engine
        tempo = engine.tempo
        horizon = float(tempo.beat_at(engine.horizon))
        items = []
        for event in engine.pending_changes():
            items.append(self._event_item(event, tempo, horizon))
        for automation in engine.automations:
            items.append({"lane": "morph", "label": describe_automation(automation),
                          "beat": _beat(automation.start), "end": _beat(automation.start + automation.beats)})
        for beat, fn in engine.clock.pending:
            items.append({"lane": "callback", "label": describe_callback(fn), "beat": _beat(beat)})
        items.sort(key=lambda item: item["beat"])
        return items[:MAX_ITEMS]

    @staticmethod
    def _event_item(event: Event, tempo: Any, horizon: float) -> dict[str, Any]:
        due = event.due(tempo)
        beat = horizon if due is None else float(tempo.beat_at(due))
        item = {"lane": "change", "label": describe_change(event.change), "beat": _round(beat)}
        if isinstance(event.change, Automate):
            item["lane"] = "morph"
            item["end"] = _round(beat + float(event.change.automation.beats))
        if due is None:
            item["now"] = True  # lands as soon as possible
        return item

    @request("zoom")
    def _request_zoom(self, content: dict, buffers: list) -> None:
        self.bars_ahead = number(content, "bars_ahead", 1, 256)


def _beat(value: Fraction) -> float:
    return _round(float(value))


def _round(value: float) -> float:
    return round(value, 4) if math.isfinite(value) else 0.0


def _bars(value: float, name: str, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= 256:
        raise ValueError(f"{name} is a number of bars from {low:g} to 256, got {value!r}")
    return float(value)
