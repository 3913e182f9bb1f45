"""Control changes, and the sample-accurate timeline they wait on.

User code never changes the engine's state directly. It posts an immutable
:class:`Event`: a :class:`Change` and the time it should take effect, as a
sample position, a beat, or "as soon as possible". Only the generation worker
applies changes, each at its exact sample, to a :class:`ControlState` that is
itself immutable. Every change knows how to write itself to a session log and
read itself back, which is all replay needs.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import SessionError
from .models.base import INJECT_MODES, INJECTION_CONTROLS, SAMPLING_CONTROLS, Controls
from .style import Prompt, Slot, Slots, Style, StyleSpace, lerp, slerp
from .tempo import TempoMap, check_bpm

if TYPE_CHECKING:
    from .models.base import Backend

__all__ = ["ControlState", "Change", "SetSlot", "SetWeight", "ClearSlot", "ClearSlots",
           "SetParams", "SetStyle", "SetTempo", "SetBackend", "SetNote", "SetSlots", "Automate", "Automation",
           "CURVES", "RAMP_TARGETS", "SetMeter", "Event", "Timeline", "change_from_json",
           "check_param"]


@dataclass(frozen=True)
class ControlState:
    """Everything the controls say at one sample: slots, tempo and the rest."""

    slots: Slots
    controls: Controls
    tempo: TempoMap

    #: Morphs and ramps in progress, at most one per target.
    automations: tuple[Automation, ...] = ()
    #: The backend's neutral style: where a morph starts when no slot has weight.
    neutral: Style | None = None

    def with_slots(self, slots: Slots) -> ControlState:
        return replace(self, slots=slots, controls=replace(self.controls, style=slots.style()))

    def value_of(self, target: str) -> Any:
        """The current value of an automation target."""
        if target == "style":
            return self.controls.style or self.neutral
        if target.startswith("weight:"):
            return self.slots[target[len("weight:"):]].weight
        return getattr(self.controls, target)

    def with_value(self, target: str, value: Any) -> ControlState:
        if target == "style":
            return replace(self, controls=replace(self.controls, style=value))
        if target.startswith("weight:"):
            slot = target[len("weight:"):]
            if slot not in self.slots:  # cleared while its weight ramped: the ramp has nothing to move
                return self
            return self.with_slots(self.slots.with_weight(slot, value))
        if target == "top_k":
            value = int(round(value))
        return replace(self, controls=replace(self.controls, **{target: value}))

    def next_boundary(self, beat: Fraction) -> Fraction | None:
        """The next beat at which an automation in progress jumps or ends."""
        boundaries = [b for a in self.automations if (b := a.next_boundary(beat)) is not None]
        return min(boundaries, default=None)

    def automate(self, beat: Fraction) -> ControlState:
        """The state with every automation evaluated at ``beat``; finished ones
        are removed and their final change applied."""
        state = self
        running = []
        for automation in self.automations:
            value, done = automation.value_at(beat)
            state = state.with_value(automation.target, value)
            if done and automation.then is not None:  # a slot change, which needs no sample
                state = automation.then.apply(state, 0)
            if not done:
                running.append(automation)
        if len(running) != len(self.automations):
            state = replace(state, automations=tuple(running))
        return state


class Change:
    """One kind of control change. Subclasses are frozen dataclasses."""

    kind: ClassVar[str]

    def apply(self, state: ControlState, sample: int) -> ControlState:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


_CHANGES: dict[str, type[Change]] = {}


def _register(cls):
    _CHANGES[cls.kind] = cls
    return cls


@_register
@dataclass(frozen=True)
class SetSlot(Change):
    """Put a prompt (already embedded) or a bare style in a named slot."""

    kind: ClassVar[str] = "set_slot"
    slot: Slot

    def apply(self, state, sample):
        return state.with_slots(state.slots.with_slot(self.slot))

    def to_json(self):
        return self.slot.describe()

    @classmethod
    def from_json(cls, data, space: StyleSpace) -> SetSlot:
        prompt = None if data["prompt"] is None else Prompt.from_description(data["prompt"])
        if data["prompt"] is not None and prompt is None:
            # In-memory audio cannot be logged; the logged style stands in for it.
            prompt = Prompt.of_text(f"<audio {data['prompt'].get('array', '')}>", data["weight"])
        style = Style.from_json(data["style"], space)
        return cls(Slot(data["slot"], style, data["weight"], prompt))


@_register
@dataclass(frozen=True)
class SetWeight(Change):
    kind: ClassVar[str] = "set_weight"
    slot: str
    weight: float

    def apply(self, state, sample):
        return state.with_slots(state.slots.with_weight(self.slot, self.weight))

    def to_json(self):
        return {"slot": self.slot, "weight": self.weight}


@_register
@dataclass(frozen=True)
class ClearSlot(Change):
    kind: ClassVar[str] = "clear_slot"
    slot: str

    def apply(self, state, sample):
        return state.with_slots(state.slots.without(self.slot))

    def to_json(self):
        return {"slot": self.slot}


@_register
@dataclass(frozen=True)
class ClearSlots(Change):
    kind: ClassVar[str] = "clear_slots"

    def apply(self, state, sample):
        return state.with_slots(Slots())

    def to_json(self):
        return {}


@_register
@dataclass(frozen=True)
class SetStyle(Change):
    """Replace every slot with one bare style, as embedding arithmetic does."""

    kind: ClassVar[str] = "set_style"
    SLOT: ClassVar[str] = "style"
    style: Style

    def apply(self, state, sample):
        return state.with_slots(Slots([Slot(self.SLOT, self.style)]))

    def to_json(self):
        return {"style": self.style.to_json()}

    @classmethod
    def from_json(cls, data, space) -> SetStyle:
        return cls(Style.from_json(data["style"], space))


@_register
@dataclass(frozen=True)
class SetSlots(Change):
    """Replace every slot at once (where a morph to prompts ends)."""

    kind: ClassVar[str] = "set_slots"
    slots: Slots

    def apply(self, state, sample):
        return state.with_slots(self.slots)

    def to_json(self):
        return {"slots": [slot.describe() for slot in self.slots.values()]}

    @classmethod
    def from_json(cls, data, space) -> SetSlots:
        return cls(Slots(SetSlot.from_json(entry, space).slot for entry in data["slots"]))


@_register
@dataclass(frozen=True)
class SetNote(Change):
    """Hold a MIDI note down (``on``) or let it go; ``note=None`` with ``on=False`` lets all go."""

    kind: ClassVar[str] = "set_note"
    note: int | None
    on: bool

    def apply(self, state, sample):
        notes = state.controls.notes
        if self.note is None:
            notes = frozenset()
        elif self.on:
            notes = notes | {self.note}
        else:
            notes = notes - {self.note}
        return replace(state, controls=replace(state.controls, notes=notes))

    def to_json(self):
        return {"note": self.note, "on": self.on}


#: Shapes of a morph or ramp, from progress 0..1 to position 0..1.
CURVES: dict[str, Any] = {
    "linear": lambda p: p,
    "cosine": lambda p: 0.5 - 0.5 * math.cos(math.pi * p),
    "exp": lambda p: (2.0 ** (8.0 * p) - 1.0) / 255.0,  # slow start, fast finish, as a fader moved by ear
    "step": lambda p: p,  # with steps: plateaus (one per beat when steps is not given)
}

#: Numeric automation targets besides "weight:<slot>" and "style".
RAMP_TARGETS = ("temperature", "top_k", "guidance", "inject_gain", "feedback_gain", "input_gap", "loop_beats")


@dataclass(frozen=True)
class Automation:
    """A morph or a ramp: ``target`` moves from its value when the automation
    starts to ``to`` over ``beats`` beats along ``curve``.

    With ``steps=N`` the value holds N equal plateaus from the start value to
    the target (the papers' stepwise protocol: 6 steps of 10 s over 60 s).
    """

    target: str
    to: Any
    beats: Fraction
    curve: str = "linear"
    steps: int | None = None
    via: str = "lerp"
    then: Change | None = None
    start: Fraction = Fraction(0)
    origin: Any = None

    def progress(self, beat: Fraction) -> tuple[float, bool]:
        elapsed = min(max((beat - self.start) / self.beats, Fraction(0)), Fraction(1))
        done = elapsed >= 1
        if self.steps:
            # Exact arithmetic: a plateau begins on its beat's sample, never one early or late.
            index = min(math.floor(elapsed * self.steps), self.steps - 1)
            p = 1.0 if done or self.steps == 1 else index / (self.steps - 1)
        else:
            p = float(elapsed)
        return CURVES[self.curve](p), done

    def next_boundary(self, beat: Fraction) -> Fraction | None:
        """The next beat after ``beat`` where the value jumps (a step) or the automation ends."""
        end = self.start + self.beats
        if beat >= end:
            return None
        if not self.steps:
            return end
        index = math.floor((beat - self.start) / self.beats * self.steps) + 1
        return self.start + self.beats * Fraction(index, self.steps)

    def value_at(self, beat: Fraction) -> tuple[Any, bool]:
        p, done = self.progress(beat)
        if isinstance(self.to, Style):
            mix = slerp if self.via == "slerp" else lerp
            return (self.to if done else mix(self.origin, self.to, p)), done
        return self.origin + (self.to - self.origin) * p, done

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "beats": str(self.beats), "curve": self.curve, "steps": self.steps,
                "via": self.via, "to": self.to.to_json() if isinstance(self.to, Style) else self.to,
                "then": None if self.then is None else {"kind": self.then.kind, "data": self.then.to_json()}}


@_register
@dataclass(frozen=True)
class Automate(Change):
    """Start a morph or a ramp where this change lands."""

    kind: ClassVar[str] = "automate"
    automation: Automation

    def apply(self, state, sample):
        beat = state.tempo.beat_at(sample)
        origin = state.value_of(self.automation.target)
        if origin is None:
            raise ValueError(f"nothing to morph from: {self.automation.target} has no value")
        automation = replace(self.automation, start=beat, origin=origin)
        others = tuple(a for a in state.automations if a.target != automation.target)
        return replace(state, automations=others + (automation,)).automate(beat)

    def to_json(self):
        return self.automation.to_json()

    @classmethod
    def from_json(cls, data, space) -> Automate:
        to = Style.from_json(data["to"], space) if isinstance(data["to"], dict) else data["to"]
        then = data.get("then")
        then = None if then is None else change_from_json(then["kind"], then["data"], space)
        return cls(Automation(data["target"], to, Fraction(data["beats"]), data["curve"], data["steps"],
                              data["via"], then))


#: The sampling and injection controls and their valid ranges (input_gap in seconds, loop_beats in beats).
_PARAM_RANGES = {"temperature": (0.0, 10.0), "top_k": (1, 100_000), "guidance": (0.0, 50.0),
                 "seed": (0, 2**63 - 1), "inject_gain": (0.0, 16.0), "feedback_gain": (0.0, 4.0),
                 "input_gap": (0.0, 30.0), "loop_beats": (0.25, 256.0)}


def check_param(name: str, value: Any) -> float | int | str:
    """A sampling or injection control's value, checked: unknown names and absurd values raise ValueError."""
    if name == "inject_mode":
        if value not in INJECT_MODES:
            raise ValueError(f"unknown injection mode {value!r}; choose one of: {', '.join(INJECT_MODES)}")
        return value
    if name not in _PARAM_RANGES:
        raise ValueError(f"unknown control {name!r}; choose from: {', '.join(SAMPLING_CONTROLS + INJECTION_CONTROLS)}")
    low, high = _PARAM_RANGES[name]
    integer = isinstance(low, int)
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if integer and number != value:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not (isinstance(number, int) or math.isfinite(number)) or not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return number


@_register
@dataclass(frozen=True)
class SetParams(Change):
    """Set sampling controls (temperature, top_k, guidance, seed) and injection controls
    (inject_mode, inject_gain, feedback_gain, input_gap, loop_beats)."""

    kind: ClassVar[str] = "set_params"
    values: tuple[tuple[str, Any], ...]

    def apply(self, state, sample):
        return replace(state, controls=replace(state.controls, **dict(self.values)))

    def to_json(self):
        return dict(self.values)

    @classmethod
    def from_json(cls, data, space) -> SetParams:
        return cls(tuple((name, check_param(name, value)) for name, value in data.items()))


@_register
@dataclass(frozen=True)
class SetTempo(Change):
    """A new tempo, at once or (with ``ramp_beats``) gliding there over that many beats."""

    kind: ClassVar[str] = "set_tempo"
    bpm: Fraction
    ramp_beats: Fraction | None = None
    #: Where the beat is at this sample (a phase re-alignment); None keeps it continuous.
    beat: Fraction | None = None

    def apply(self, state, sample):
        if self.ramp_beats:
            tempo = state.tempo.with_ramp(self.bpm, sample, self.ramp_beats)
        else:
            tempo = state.tempo.with_tempo(self.bpm, sample, self.beat)
        return replace(state, tempo=tempo, controls=replace(state.controls, bpm=tempo.bpm_at(sample)))

    def to_json(self):
        data = {"bpm": str(self.bpm)}
        if self.ramp_beats:
            data["ramp_beats"] = str(self.ramp_beats)
        if self.beat is not None:
            data["beat"] = str(self.beat)
        return data

    @classmethod
    def from_json(cls, data, space) -> SetTempo:
        ramp, beat = data.get("ramp_beats"), data.get("beat")
        return cls(check_bpm(data["bpm"]), None if ramp is None else Fraction(ramp),
                   None if beat is None else Fraction(beat))


@_register
@dataclass(frozen=True)
class SetMeter(Change):
    kind: ClassVar[str] = "set_meter"
    beats_per_bar: int

    def apply(self, state, sample):
        return replace(state, controls=replace(state.controls, beats_per_bar=self.beats_per_bar))

    def to_json(self):
        return {"beats_per_bar": self.beats_per_bar}


@_register
@dataclass(frozen=True, eq=False)
class SetBackend(Change):
    """Switch to another model. The engine applies it at a block boundary,
    fading out and in, and embeds every slot's prompt again in the new space."""

    kind: ClassVar[str] = "set_backend"
    backend: Backend
    options: tuple[tuple[str, Any], ...] = ()
    #: Prompt embeddings made on the caller's thread, so the worker rarely has to embed.
    embedded: dict = field(default_factory=dict, compare=False, repr=False)

    def apply(self, state, sample):
        return state  # the engine swaps the model itself; see Engine._switch_backend

    def to_json(self):
        return {"name": self.backend.name, "options": dict(self.options)}

    @classmethod
    def from_json(cls, data, space) -> SetBackend:
        from .models import get_backend

        return cls(get_backend(data["name"], **data.get("options", {})), tuple(data.get("options", {}).items()))


def change_from_json(kind: str, data: dict, space: StyleSpace) -> Change:
    """The change a session-log line describes."""
    cls = _CHANGES.get(kind)
    if cls is None:
        raise SessionError(f"unknown change {kind!r} in session log; known: {', '.join(sorted(_CHANGES))}")
    if hasattr(cls, "from_json"):
        return cls.from_json(data, space)
    return cls(**data)


@dataclass(frozen=True, order=False)
class Event:
    """A change and when it should happen.

    ``sample`` and ``beat`` are mutually exclusive; with neither the change
    lands as soon as possible, on the first sample not yet generated.
    """

    seq: int
    change: Change
    sample: int | None = None
    beat: Fraction | None = None
    posted_at: float = field(default=0.0, compare=False)

    def due(self, tempo: TempoMap) -> int | None:
        """The sample this event asks for, under the tempo map in force (None: now)."""
        if self.beat is not None:
            return tempo.sample_of(self.beat)
        return self.sample


class Timeline:
    """The events waiting to be applied. Owned by the worker thread only.

    Two heaps: one of sample-timed events (and "now" events, as sample -1), one
    of beat-timed events. A tempo map is monotonic, so the earliest beat is the
    earliest sample, and finding the next event costs two heap lookups however
    many changes a script has scheduled.
    """

    def __init__(self) -> None:
        self._by_sample: list[tuple[int, int, Event]] = []
        self._by_beat: list[tuple[Fraction, int, Event]] = []
        self._cancelled: set[int] = set()
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def add(self, event: Event) -> None:
        if event.beat is not None:
            heapq.heappush(self._by_beat, (event.beat, event.seq, event))
        else:
            sample = -1 if event.sample is None else event.sample
            heapq.heappush(self._by_sample, (sample, event.seq, event))
        self._live += 1

    def cancel(self, seq: int) -> bool:
        """Forget a pending event; False when it is not pending (applied or unknown)."""
        if any(entry[1] == seq for heap in (self._by_sample, self._by_beat) for entry in heap) \
                and seq not in self._cancelled:
            self._cancelled.add(seq)
            self._live -= 1
            return True
        return False

    def _head(self, heap: list) -> tuple | None:
        while heap and heap[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(heap)[1])
        return heap[0] if heap else None

    def next_due(self, tempo: TempoMap, cursor: int) -> tuple[Event | None, int | None]:
        """The earliest event and its sample (``cursor`` for overdue ones).

        Ties go to the event posted first, so order never depends on timing.
        Beat-timed events are resolved under the tempo map as it stands, since
        an earlier tempo change can move them.
        """
        candidates = []
        if (head := self._head(self._by_sample)) is not None:
            candidates.append((max(head[0], cursor), head[1], head[2]))
        if (head := self._head(self._by_beat)) is not None:
            candidates.append((max(tempo.sample_of(head[0]), cursor), head[1], head[2]))
        if not candidates:
            return None, None
        at, _, event = min(candidates, key=lambda c: (c[0], c[1]))
        return event, at

    def pop(self, event: Event) -> None:
        """Remove ``event``, which :meth:`next_due` just returned."""
        heap = self._by_beat if event.beat is not None else self._by_sample
        heapq.heappop(heap)
        self._live -= 1

    def pending(self) -> list[Event]:
        """The pending events in posting order (for display)."""
        events = [entry[2] for heap in (self._by_sample, self._by_beat) for entry in heap
                  if entry[1] not in self._cancelled]
        return sorted(events, key=lambda e: e.seq)
