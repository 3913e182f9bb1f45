"""The streaming engine: a live music model that never drops a sample.

Threading model
---------------
Three kinds of threads touch an engine, and each has one job:

* **User threads** (notebook cells, OSC handlers, widgets, session scripts)
  call the control methods (:meth:`Engine.set_prompt`, :meth:`Engine.set_bpm`,
  ...). These embed prompts on the caller's thread, where slowness is
  harmless, then post an immutable, timestamped :class:`~.timeline.Event` to
  a lock-free queue and return a handle at once. They never touch the
  engine's state.
* **The generation worker** is the only thread that changes the engine's
  state. It drains the queue onto the timeline, and whenever the ring holds
  less than ``lead`` seconds of audio it generates the next block: it applies
  every event due at the block's start, splits the block at each later event
  (for backends that accept any block size, so a change lands on its exact
  sample), calls the backend, joins the pieces click-free, writes the block
  to the ring, the recorder and the session log, hands it to the listeners
  (:meth:`Engine.listen`: the browser Player, the Scope), and updates the
  figures.
* **The audio callback** (the sink's thread) only copies frames out of the
  preallocated ring. It never blocks, locks or allocates arrays; when the
  ring runs short it fills with silence and counts an underrun.

Offline, :meth:`Engine.render` runs the worker's code on the caller's thread
as fast as it can, with an :class:`~.clock.OfflineClock`: the same code path,
deterministic, so a logged session replays bit for bit.

Joins and failures
------------------
The worker holds back the last few milliseconds it generated (``fade``, or
the backend's overlap if larger) before releasing them to the ring. That tail
is what makes every join click-free: it crossfades into the next block for
backends that return an overlap, and it fades out to silence when the backend
raises, so a failing model goes quiet smoothly instead of with a click. The
engine keeps the last good state, reports the error, streams silence, and
fades back in on the next good block.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from ._ring import Ring
from .clock import Clock, LiveClock, OfflineClock
from .errors import BackendError, EngineError
from .follow import TempoEstimate, TempoFollower
from .injection import InjectionHandle, Injector
from .live_prompt import LivePrompt
from .metrics import Figures, RollingStats
from .models import Backend, BlockRequest, Controls, get_backend
from .recorder import WavRecorder
from .session import SessionLog
from .sinks import SINKS, Playhead, Sink, open_sink
from .style import Prompt, PromptLike, Slot, Slots, Style
from .tempo import TempoMap, check_bpm, to_fraction
from .timeline import (
    CURVES,
    RAMP_TARGETS,
    Automate,
    Automation,
    Change,
    ClearSlot,
    ClearSlots,
    ControlState,
    Event,
    SetBackend,
    SetMeter,
    SetNote,
    SetParams,
    SetSlot,
    SetSlots,
    SetStyle,
    SetTempo,
    SetWeight,
    Timeline,
    check_param,
)

__all__ = ["Engine", "EventHandle", "ListenerHandle", "LATENCY_PRESETS"]

#: Seconds of audio between tempo estimates, and the confidence needed to act on one.
FOLLOW_EVERY = 2
FOLLOW_CONFIDENCE = 0.3

#: ``latency=`` presets: engine block size (frames, for backends that accept
#: any size) and lead (seconds of audio kept ready ahead of playback).
LATENCY_PRESETS: dict[str, dict[str, float]] = {
    "default": {"block": 1920, "lead": 0.080},
    "low": {"block": 480, "lead": 0.025},
}


@dataclass(frozen=True)
class EventHandle:
    """What every control method returns: the posted event, and a way to cancel it."""

    seq: int
    engine: Engine

    def cancel(self) -> None:
        """Cancel the change if it has not landed yet (a no-op afterwards)."""
        self.engine._inbox.put(("cancel", self.seq))


class ListenerHandle:
    """What :meth:`Engine.listen` returns: :meth:`cancel` stops the calls."""

    __slots__ = ("fn", "engine", "failing")

    def __init__(self, fn: Callable[[int, np.ndarray], Any], engine: Engine):
        self.fn = fn
        self.engine = engine
        self.failing = False  # one report per streak of failures

    def cancel(self) -> None:
        """Stop calling the listener (idempotent)."""
        self.engine._listeners = tuple(h for h in self.engine._listeners if h is not self)


class Engine:
    """Streams a live music model in the background, steered by timed control changes.

    >>> engine = Engine(backend="click", bpm=120, sink="null")
    >>> engine.set_prompt("main", "minimal techno")       # doctest: +SKIP
    >>> engine.start()                                     # doctest: +SKIP

    Parameters are keyword-only after ``backend``; every one has a default.
    ``sink`` is ``"auto"`` (the sound card, or the null sink when there is
    none), ``"soundcard"``, ``"null"``, a :class:`~.sinks.Sink`, or ``None`` for
    an offline engine that only renders. ``latency`` picks a preset from
    :data:`LATENCY_PRESETS`; ``block_size`` and ``lead`` override it.
    """

    def __init__(self, backend: str | Backend | None = None, *, bpm: Real = 120,
                 beats_per_bar: int = 4, seed: int = 0, temperature: float = 1.1, top_k: int = 40,
                 guidance: float = 4.0, prompts: dict[str, PromptLike] | None = None,
                 latency: str = "default", block_size: int | None = None, lead: float | None = None,
                 sink: str | Sink | None = "auto", device: int | str | None = None,
                 record: str | Path | None = None, record_subtype: str = "float32",
                 log: str | Path | None = None, clock: Clock | None = None, fade: float = 0.005,
                 follow_tempo: bool | None = None, quiet: bool = False, **backend_options: Any):
        self._backend = get_backend(backend, **backend_options)
        #: The backend the newest posted change speaks to: prompts posted after
        #: set_backend() embed for the new model even before the switch lands.
        self._posted_backend = self._backend
        self.sample_rate = self._backend.sample_rate
        self.channels = self._backend.channels
        self._quiet = quiet
        #: The most recent messages (errors, warnings), newest last.
        self.messages: collections.deque[str] = collections.deque(maxlen=100)
        self._message_count = 0

        if latency not in LATENCY_PRESETS:
            raise ValueError(f"unknown latency preset {latency!r}; choose one of: {', '.join(LATENCY_PRESETS)}")
        preset = LATENCY_PRESETS[latency]
        self.block_size = self._choose_block_size(block_size or int(preset["block"]), block_size is not None)
        self.lead = float(preset["lead"] if lead is None else lead)
        if not 0 < self.lead <= 10:
            raise ValueError(f"lead is the seconds of audio kept ready, between 0 and 10; got {lead}")
        if not 0 <= fade <= 0.1:
            raise ValueError(f"fade is a join length in seconds between 0 and 0.1; got {fade}")
        beats_per_bar = _check_meter(beats_per_bar)
        self._fade = int(round(fade * self.sample_rate))
        self._hold = max(self._fade, self._backend.capabilities.overlap)
        self._ramps = _Ramps()

        if sink is not None and not isinstance(sink, Sink) and sink not in SINKS:
            raise ValueError(f"unknown sink {sink!r}; choose one of: {', '.join(SINKS)}, "
                             f"a Sink instance, or None for offline rendering")
        self._sink_spec = sink
        self._device = device
        self._clock = clock or (LiveClock() if sink is not None else OfflineClock())
        #: Per thread: the beat of the clock callback running on it, where its changes land.
        self._context = threading.local()
        bpm = check_bpm(bpm)
        params = {name: check_param(name, value) for name, value in
                  (("temperature", temperature), ("top_k", top_k), ("guidance", guidance), ("seed", seed))}
        self._state = ControlState(Slots(), Controls(bpm=bpm, beats_per_bar=beats_per_bar, **params),
                                   TempoMap(bpm, self.sample_rate), neutral=self._backend.default_style())
        self._initial = {"bpm": str(bpm), "beats_per_bar": beats_per_bar, **params}

        # Worker-owned streaming state.
        self._backend_state = self._backend.initial_state()
        self._timeline = Timeline()
        self._switches: list[Event] = []  # backend switches wait for a block boundary
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._seq = itertools.count(1)
        self._position = 0            # next sample to generate
        self._tail = np.zeros((0, self.channels), dtype=np.float32)  # generated, held back
        self._overlap: np.ndarray | None = None  # the backend's overlap past the last block
        self._failing = False
        self._fade_in_left = 0
        self._emitted = 0             # samples released to the ring / render output
        self._carry = np.zeros((0, self.channels), dtype=np.float32)  # offline surplus
        self._script_sample = 0       # offline: where "now" is for a session script
        self._script_tempo = self._state.tempo
        #: The slots and meter as the posted changes will leave them: what user threads check against.
        self._posted = Slots()
        self._posted_meter = beats_per_bar

        # Following the model's tempo, for models that do not follow ours.
        if follow_tempo is None:
            follow_tempo = not self._backend.capabilities.tempo_lock
        self._follower = TempoFollower(self.sample_rate) if follow_tempo else None
        self._follow_at = FOLLOW_EVERY * self.sample_rate
        #: The newest tempo estimate from the model's audio (None when not following).
        self.tempo_estimate: TempoEstimate | None = None

        # Figures.
        self._generation = RollingStats()
        self._latency = RollingStats()
        self._probes: collections.deque[tuple[int, float]] = collections.deque(maxlen=1024)
        self._blocks = 0
        self._events = 0
        self._late = 0
        self._errors = 0
        self._last_error: str | None = None
        self._repeats = 0
        self._queue_min = math.inf

        # Live machinery, made in start().
        self._ring: Ring | None = None
        self._playhead: Playhead | None = None
        self._sink: Sink | None = None
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Called with every released block (copy-on-write, so the worker iterates without a lock).
        self._listeners: tuple[ListenerHandle, ...] = ()
        #: Audio injection: sources of input mixed into the model's context (see inject()).
        self._injector = Injector(self)

        self._recorder: WavRecorder | None = None
        self._log: SessionLog | None = None
        for name, prompt in (prompts or {}).items():  # a bad prompt raises before any file is made
            self.set_prompt(name, prompt)
        if record:
            self._recorder = WavRecorder(record, self.sample_rate, self.channels, record_subtype)
        if log:
            self._log = SessionLog(log, self._header())
        self._clock._attach(self)  # last: a clock may read the engine as it attaches

    # ------------------------------------------------------------------ setup
    def _choose_block_size(self, frames: int, explicit: bool) -> int:
        native = self._backend.block_size
        if self._backend.capabilities.variable_blocks:
            if frames < 16 or frames > self.sample_rate * 10:
                raise ValueError(f"block_size must be between 16 and {self.sample_rate * 10} frames, got {frames}")
            return int(frames)
        if explicit and frames != native:
            raise ValueError(f"backend {self._backend.name!r} generates fixed blocks of {native} frames; "
                             f"leave block_size unset or set it to {native}")
        return native

    def _header(self) -> dict[str, Any]:
        return {"backend": self._backend.name, "backend_options": _logged_options(self._backend),
                "sample_rate": self.sample_rate,
                "channels": self.channels, "block_size": self.block_size,
                "fade": self._fade, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **self._initial}

    # --------------------------------------------------------------- reading
    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def slots(self) -> Slots:
        """The prompt slots in force at the newest generated sample."""
        return self._state.slots

    @property
    def controls(self) -> Controls:
        """The controls in force at the newest generated sample."""
        return self._state.controls

    @property
    def style(self) -> Style:
        """The blended style in force (the backend's neutral style when no slot has weight)."""
        return self._state.controls.style or self._backend.default_style()

    @property
    def tempo(self) -> TempoMap:
        return self._state.tempo

    @property
    def bpm(self) -> float:
        """The tempo at the sample being heard now (it moves during a ramp)."""
        return float(self._state.tempo.bpm_at(self.played))

    @property
    def beats_per_bar(self) -> int:
        """The newest meter set (bars in clock scheduling count in it)."""
        return self._posted_meter

    @property
    def position(self) -> int:
        """Samples generated so far."""
        return self._position

    @property
    def played(self) -> int:
        """Samples the sink has taken (live), or released by render() (offline)."""
        return self._ring.read if self._ring is not None else self._emitted

    @property
    def beat(self) -> Fraction:
        """The musical position of the sample being heard now."""
        return self._state.tempo.beat_at(self.played)

    @property
    def horizon(self) -> int:
        """The earliest sample a change posted now can still land on."""
        if self.running:
            return self._position
        return max(self._script_sample, self._position)

    @property
    def clock(self) -> Clock:
        """The clock: tempo, beats and bars, and scheduling (``at``, ``every``, ``cue``, ``sequence``)."""
        return self._clock

    @property
    def sink(self) -> Sink | None:
        """The sink playing now (after a fallback, the one actually used), or None."""
        return self._sink

    def _timing(self) -> tuple[float, int] | None:
        """(clock time, sample) of a sample being heard, while streaming. Before the sink's
        first pull the sample at the read position is about to be heard: now."""
        if not self.running or self._playhead is None:
            return None
        return self._playhead.timing() or (self._clock.now(), self._ring.read)

    def heard_time(self, sample: int) -> float | None:
        """When ``sample`` reaches the ear, in clock time (``time.monotonic()`` live); None offline."""
        timing = self._timing()
        return None if timing is None else timing[0] + (sample - timing[1]) / self.sample_rate

    def sample_heard_at(self, when: float) -> int | None:
        """The sample heard at clock time ``when``; None offline."""
        timing = self._timing()
        return None if timing is None else timing[1] + round((when - timing[0]) * self.sample_rate)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def embed(self, source: PromptLike) -> Style:
        """Embed text or audio with this engine's backend (the newest one set)."""
        if isinstance(source, Style):
            return source
        return self._posted_backend.embed(source)

    @property
    def figures(self) -> Figures:
        """A snapshot of the engine's health; see the README's "Reading the figures"."""
        ring, playhead = self._ring, self._playhead
        rate = self.sample_rate
        generation = self._generation.summary()
        block_ms = 1000 * self.block_size / rate
        return Figures(
            sample_rate=rate, block_ms=block_ms, lead_ms=1000 * self.lead,
            generated_s=self._position / rate, played_s=self.played / rate, blocks=self._blocks,
            underruns=playhead.underruns if playhead else 0,
            underrun_ms=1000 * (playhead.underrun_frames if playhead else 0) / rate,
            generation_ms=generation,
            realtime_factor=(generation.mean / block_ms) if generation.count else float("nan"),
            queue_ms=1000 * (ring.fill if ring else 0) / rate,
            queue_min_ms=(1000 * min(self._queue_min, ring.fill if self.running else math.inf) / rate
                          if self._queue_min != math.inf else float("nan")),
            pending_events=len(self._timeline) + self._inbox.qsize(),
            latency_ms=self._latency.summary(), events=self._events, late_events=self._late,
            errors=self._errors, last_error=self._last_error)

    def pending_changes(self) -> list[Event]:
        """The changes posted and not landed yet, in posting order: a snapshot for display
        (the worker owns the timeline; one posted in the last block's time may not show yet)."""
        return self._timeline.pending()

    @property
    def automations(self) -> tuple[Automation, ...]:
        """The morphs and ramps in progress at the newest generated sample."""
        return self._state.automations

    # -------------------------------------------------------------- controls
    def _post(self, change: Change, at_sample: int | None, at_beat: Real | None) -> EventHandle:
        if at_sample is not None and at_beat is not None:
            raise ValueError("give at_sample or at_beat, not both")
        if at_sample is not None:
            if isinstance(at_sample, bool) or not isinstance(at_sample, (int, np.integer)) or at_sample < 0:
                raise ValueError(f"at_sample is a sample position >= 0, got {at_sample!r}")
            at_sample = int(at_sample)
        beat = None
        if at_beat is not None:
            beat = to_fraction(at_beat)
            if beat < 0:
                raise ValueError(f"at_beat is a beat position >= 0, got {at_beat!r}")
        if at_sample is None and beat is None:
            beat = getattr(self._context, "beat", None)  # inside a clock callback: its beat
        if at_sample is None and beat is None and not self.running:
            at_sample = self.horizon  # offline "now" is the script's time, not the render position
        event = Event(next(self._seq), change, at_sample, beat, self._clock.now())
        self._inbox.put(event)
        return EventHandle(event.seq, self)

    def set_prompt(self, slot: str, prompt: PromptLike, weight: float | None = None, *,
                   at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        """Put a text or audio prompt (or a bare :class:`Style`) in a named slot.

        The prompt is embedded now, on the calling thread; the change lands at
        ``at_sample`` / ``at_beat`` or as soon as possible.
        """
        slot = _check_slot_name(slot)
        weight = None if weight is None else _weight(weight)
        if isinstance(prompt, Style):
            self._check_space(prompt)
            entry = Slot(slot, prompt, 1.0 if weight is None else weight)
        else:
            symbolic = Prompt.of(prompt, weight)
            entry = Slot(slot, self._posted_backend.embed(symbolic), symbolic.weight, symbolic)
        self._posted = self._posted.with_slot(entry)
        return self._post(SetSlot(entry), at_sample, at_beat)

    def set_style(self, style: Style, *, at_sample: int | None = None,
                  at_beat: Real | None = None) -> EventHandle:
        """Replace every slot with one bare style (for embedding arithmetic)."""
        self._check_space(style)
        self._posted = Slots([Slot(SetStyle.SLOT, style)])
        return self._post(SetStyle(style), at_sample, at_beat)

    def set_weight(self, slot: str, weight: float, *, at_sample: int | None = None,
                   at_beat: Real | None = None) -> EventHandle:
        self._check_slot_known(slot)
        weight = _weight(weight)
        if slot in self._posted:
            self._posted = self._posted.with_weight(slot, weight)
        return self._post(SetWeight(slot, weight), at_sample, at_beat)

    def clear_prompt(self, slot: str, *, at_sample: int | None = None,
                     at_beat: Real | None = None) -> EventHandle:
        self._check_slot_known(slot)
        if slot in self._posted:
            self._posted = self._posted.without(slot)
        return self._post(ClearSlot(slot), at_sample, at_beat)

    def clear_prompts(self, *, at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        self._posted = Slots()
        return self._post(ClearSlots(), at_sample, at_beat)

    def set(self, *, at_sample: int | None = None, at_beat: Real | None = None,
            **controls: Any) -> EventHandle:
        """Set sampling controls (``temperature``, ``top_k``, ``guidance``, ``seed``) and
        audio-injection controls (``inject_mode``, ``inject_gain``, ``feedback_gain``,
        ``input_gap``, ``loop_beats``; see :meth:`inject`)."""
        if not controls:
            raise ValueError("set() needs at least one of: temperature, top_k, guidance, seed, "
                             "inject_mode, inject_gain, feedback_gain, input_gap, loop_beats")
        values = tuple((name, check_param(name, value)) for name, value in controls.items())
        return self._post(SetParams(values), at_sample, at_beat)

    def set_bpm(self, bpm: Real, *, at_sample: int | None = None, at_beat: Real | None = None,
                ramp_beats: Real | None = None) -> EventHandle:
        """Change tempo at once, or glide to ``bpm`` over ``ramp_beats`` beats
        (linearly in time; beats stay exact throughout)."""
        bpm = check_bpm(bpm)
        ramp = None if ramp_beats is None else _positive_beats(ramp_beats, "ramp_beats")
        handle = self._post(SetTempo(bpm, ramp), at_sample, at_beat)
        if not self.running:
            when = self.horizon if at_sample is None else at_sample
            if at_beat is not None:
                when = self._script_tempo.sample_of(at_beat)
            self._script_tempo = (self._script_tempo.with_ramp(bpm, when, ramp) if ramp
                                  else self._script_tempo.with_tempo(bpm, when))
        return handle

    def morph(self, to: Style | PromptLike | dict, *, beats: Real, curve: str = "linear",
              steps: int | None = None, via: str = "lerp", at_sample: int | None = None,
              at_beat: Real | None = None) -> EventHandle:
        """Move the style from where it is to ``to`` over ``beats`` beats.

        ``to`` is a :class:`Style`, a prompt (which becomes the only slot,
        ``"main"``), or a dict ``{slot: prompt or (prompt, weight)}`` that
        updates those slots and keeps the others. ``curve`` is one of
        ``linear``, ``cosine``, ``exp``, ``step``; ``steps=N`` holds N equal
        plateaus (the papers' stepwise protocol); ``via`` is ``lerp`` or
        ``slerp``. When the morph ends, the slots are what ``to`` says.
        """
        beats = _positive_beats(beats, "beats")
        curve, steps = _check_curve(curve, steps, beats)
        if via not in ("lerp", "slerp"):
            raise ValueError(f"unknown interpolation {via!r}; choose one of: lerp, slerp")
        if isinstance(to, Style):
            self._check_space(to)
            target, then = to, SetStyle(to)
            self._posted = Slots([Slot(SetStyle.SLOT, to)])
        else:
            slots = self._posted if isinstance(to, dict) else Slots()
            entries = to.items() if isinstance(to, dict) else [("main", to)]
            for name, value in entries:
                prompt, weight = value if isinstance(value, tuple) else (value, None)
                symbolic = Prompt.of(prompt, weight)
                slots = slots.with_slot(Slot(_check_slot_name(name), self._posted_backend.embed(symbolic),
                                             symbolic.weight, symbolic))
            target = slots.style() or self._posted_backend.default_style()
            then, self._posted = SetSlots(slots), slots
        automation = Automation("style", target, beats, curve, steps, via, then)
        return self._post(Automate(automation), at_sample, at_beat)

    def ramp(self, target: str, to: float, *, beats: Real, curve: str = "linear", steps: int | None = None,
             at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        """Move a numeric control to ``to`` over ``beats`` beats: ``temperature``,
        ``top_k``, ``guidance``, an injection control (``inject_gain``, ``feedback_gain``,
        ``input_gap``, ``loop_beats``), or a slot's weight as ``"weight:<slot>"``."""
        beats = _positive_beats(beats, "beats")
        curve, steps = _check_curve(curve, steps, beats)
        if target.startswith("weight:"):
            self._check_slot_known(target[len("weight:"):])
            value = _weight(to)
        elif target in RAMP_TARGETS:
            value = check_param(target, to)
        else:
            raise ValueError(f"cannot ramp {target!r}; choose one of: {', '.join(RAMP_TARGETS)}, "
                             f"or 'weight:<slot>'")
        return self._post(Automate(Automation(target, value, beats, curve, steps)), at_sample, at_beat)

    def set_backend(self, backend: str | Backend, *, at_sample: int | None = None,
                    at_beat: Real | None = None, **options: Any) -> EventHandle:
        """Switch to another model at the first block boundary at or after the given time.

        Every prompt slot is embedded again in the new model's space (on this
        thread, now, for the prompts posted so far); slots that hold a bare
        style of the old space are dropped, with a message.
        """
        new = get_backend(backend, **options)
        if (new.sample_rate, new.channels) != (self.sample_rate, self.channels):
            raise BackendError(f"backend {new.name!r} plays {new.sample_rate} Hz, {new.channels} channels; "
                               f"this engine plays {self.sample_rate} Hz, {self.channels} channels")
        if self._ring is not None and self.running:
            needed = int(self.lead * self.sample_rate) + new.block_size + max(self._fade, new.capabilities.overlap)
            if not new.capabilities.variable_blocks and needed > self._ring.capacity:
                raise EngineError(f"backend {new.name!r} generates {new.block_size}-frame blocks, too large "
                                  f"for the running engine's buffer: stop() the engine, switch, then start()")
        known = list(self._posted.values()) + list(self._state.slots.values())
        prompts = {_prompt_key(slot.prompt): slot.prompt for slot in known if slot.prompt is not None}
        embedded = {key: new.embed(prompt) for key, prompt in prompts.items()}
        self._posted_backend = new
        self._posted = Slots(Slot(slot.name, embedded[_prompt_key(slot.prompt)], slot.weight, slot.prompt)
                             for slot in self._posted.values() if slot.prompt is not None)
        return self._post(SetBackend(new, tuple(options.items()), embedded), at_sample, at_beat)

    def note_on(self, note: int, *, at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        """Hold a MIDI note (0-127): for backends with ``capabilities.notes``, held notes pin the
        melodic material (the click model plays the lowest held note)."""
        return self._post(SetNote(_check_note(note), True), at_sample, at_beat)

    def note_off(self, note: int, *, at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        return self._post(SetNote(_check_note(note), False), at_sample, at_beat)

    def notes_off(self, *, at_sample: int | None = None, at_beat: Real | None = None) -> EventHandle:
        """Let every held note go."""
        return self._post(SetNote(None, False), at_sample, at_beat)

    def inject(self, source: Any, *, loop: bool = True, latency: float | None = None,
               at_sample: int | None = None, at_beat: Real | None = None) -> InjectionHandle:
        """Mix a performer's audio into the model's context, from ``at_sample`` / ``at_beat`` (or now).

        The model continues a past that includes the input; the input itself is
        never played (see :mod:`livemusic_kernel.injection`). ``source`` is a
        :class:`~.sources.Source` (``PushSource`` for audio pushed from another
        thread), ``"mic"`` (the default input), ``"device:NAME"``, the path of an
        audio file, an array or :class:`AudioClip` (``loop`` repeats these), a
        function of frames, or an iterable of arrays. ``latency`` is the audio
        interface's round trip in seconds for live input (default: what ``lmk
        latency`` stored). The controls ``inject_mode``, ``inject_gain``,
        ``feedback_gain``, ``input_gap`` and ``loop_beats`` are set with
        :meth:`set` and :meth:`ramp`. Returns a handle: its ``source``, its
        figures and ``stop(at_beat=...)``.
        """
        return self._injector.attach(source, loop=loop, latency=latency, at_sample=at_sample, at_beat=at_beat)

    def live_prompt(self, slot: str, *, seconds: float = 8.0, every: float = 4.0,
                    weight: float = 1.0) -> LivePrompt:
        """A live audio prompt: every ``every`` seconds, the last ``seconds`` of injected input
        are embedded and put in ``slot`` with ``weight`` (see :mod:`.live_prompt`). The slot
        appears with the first embedding; ``stop()`` on the result ends the re-embedding."""
        return LivePrompt(self, _check_slot_name(slot), seconds=seconds, every=every, weight=_weight(weight))

    @property
    def injections(self) -> list[InjectionHandle]:
        """The sources injecting now."""
        return self._injector.sources

    def set_meter(self, beats_per_bar: int, *, at_sample: int | None = None,
                  at_beat: Real | None = None) -> EventHandle:
        self._posted_meter = _check_meter(beats_per_bar)
        return self._post(SetMeter(self._posted_meter), at_sample, at_beat)

    def _check_slot_known(self, slot: str) -> None:
        if slot not in self._posted and slot not in self._state.slots:
            known = ", ".join(repr(s) for s in sorted(set(self._posted) | set(self._state.slots))) or "none"
            raise KeyError(f"no prompt slot {slot!r}; slots: {known}")

    def _check_space(self, style: Style) -> None:
        if not isinstance(style, Style):
            raise TypeError(f"expected a Style, got {type(style).__name__}")
        self._posted_backend.default_style()._check_same_space(style, "use")

    # ---------------------------------------------------------------- worker
    def _drain(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Event) and isinstance(item.change, SetBackend):
                self._switches.append(item)
            elif isinstance(item, Event):
                self._timeline.add(item)
            else:
                self._timeline.cancel(item[1])
                self._switches = [e for e in self._switches if e.seq != item[1]]

    def _apply_due(self, cursor: int, before_seq: float = math.inf) -> None:
        """Apply every event due at or before ``cursor`` (and posted before
        ``before_seq``), in order."""
        while True:
            event, at = self._timeline.next_due(self._state.tempo, cursor)
            if event is None or at > cursor or event.seq >= before_seq:
                return
            self._timeline.pop(event)
            asked = event.due(self._state.tempo)
            try:
                self._state = event.change.apply(self._state, cursor)
            except Exception as error:  # a bad change never stops the music
                self._report(f"could not apply {event.change.kind} at sample {cursor}: {error}; "
                             f"keeping the last good state")
                continue
            self._events += 1
            if asked is not None and asked < cursor:
                self._late += 1
                tempo = self._state.tempo
                self._report(f"{event.change.kind} was late: it asked for beat {float(tempo.beat_at(asked)):.3f} "
                             f"(sample {asked}) and landed at beat {float(tempo.beat_at(cursor)):.3f}, "
                             f"{1000 * (cursor - asked) / self.sample_rate:.1f} ms later; post changes "
                             f"before clock.horizon to land them exactly")
            if event.sample is None and event.beat is None:
                self._probes.append((cursor, event.posted_at))
            if self._log is not None:
                self._log.change(cursor, event.change, seq=event.seq, asked=asked,
                                 beat=None if event.beat is None else str(event.beat))

    def _apply_switches(self, start: int) -> None:
        """Switch backends whose time has come, at this block boundary."""
        for event in sorted(self._switches, key=lambda e: e.seq):
            asked = event.due(self._state.tempo)
            if asked is not None and asked > start:
                continue
            self._switches.remove(event)
            self._apply_due(start, before_seq=event.seq)  # what was posted first, lands first
            try:
                self._switch_backend(event.change)
            except Exception as error:
                self._report(f"could not switch to backend {event.change.backend.name!r}: {error}; "
                             f"staying with {self._backend.name!r}")
                continue
            self._events += 1
            if self._log is not None:
                self._log.change(start, event.change, seq=event.seq, asked=asked,
                                 beat=None if event.beat is None else str(event.beat))

    def _switch_backend(self, change: SetBackend) -> None:
        new = change.backend
        slots = []
        for slot in self._state.slots.values():
            if slot.style.space == new.style_space:
                slots.append(slot)
            elif slot.prompt is None:
                self._report(f"slot {slot.name!r} holds a bare style of space {slot.style.space.name!r}, "
                             f"which {new.name!r} cannot use; the slot is dropped")
            else:
                style = change.embedded.get(_prompt_key(slot.prompt)) or new.embed(slot.prompt)
                slots.append(Slot(slot.name, style, slot.weight, slot.prompt))
        old, self._backend = self._backend, new
        self._backend_state = new.initial_state()
        self._state = replace(self._state.with_slots(Slots(slots)), neutral=new.default_style())
        if not new.capabilities.variable_blocks:
            self.block_size = new.block_size
        self._hold = max(self._fade, new.capabilities.overlap)
        self._overlap = None
        # Fade the old model out over the held-back tail and the new one in.
        fade = min(self._fade, len(self._tail))
        self._tail[len(self._tail) - fade:] *= self._ramps.down(fade)
        self._fade_in_left = self._fade
        old.close()

    def _step(self, start: int, frames: int) -> tuple[np.ndarray, bool]:
        backend = self._backend
        tempo, controls = self._state.tempo, self._state.controls
        if tempo.ramping_at(start):  # backends that take one tempo per block get it sampled here
            controls = replace(controls, bpm=tempo.bpm_at(start))
        request = BlockRequest(start, frames, tempo.beat_at(start), controls, tempo)
        expected = (frames + backend.capabilities.overlap, self.channels)
        self._backend_state = self._injector.feed(backend, self._backend_state, request)
        try:
            audio, state = backend.step(self._backend_state, request)
            audio = np.asarray(audio, dtype=np.float32)
            if audio.shape != expected:
                raise ValueError(f"returned audio of shape {audio.shape}, expected {expected}")
            if not np.isfinite(audio).all():
                raise ValueError("returned NaN or infinite samples")
        except Exception as error:
            self._backend_failed(error, start)
            return np.zeros(expected, dtype=np.float32), False
        self._backend_state = state
        if self._failing:
            self._report(f"backend {backend.name!r} recovered at sample {start} "
                         f"after {self._repeats} failed steps")
        return audio, True

    def _backend_failed(self, error: BaseException, sample: int) -> None:
        self._errors += 1
        message = f"{type(error).__name__}: {error}"
        self._last_error = message
        if self._failing:  # one report per failure streak; the recovery message gives the count
            self._repeats += 1
            return
        self._repeats = 1
        self._report(f"backend {self._backend.name!r} raised at sample {sample}: {message}; "
                     f"fading to silence, the stream goes on and recovers on the next good block",
                     detail="".join(traceback.format_exception(type(error), error, error.__traceback__)))

    def _generate_block(self) -> np.ndarray:
        """Generate one block and return the frames it releases (the same code live and offline)."""
        start = self._position
        if not self._clock.live:  # offline, clock callbacks run here, before the block they fall in
            self._clock._run_due(self._state.tempo.beat_at(start + self.block_size))
        began = time.perf_counter()  # generation time: what the model and the engine cost, not callbacks
        self._drain()
        self._apply_switches(start)
        end = start + self.block_size
        variable = self._backend.capabilities.variable_blocks
        work = np.empty((len(self._tail) + self.block_size, self.channels), dtype=np.float32)
        work[:len(self._tail)] = self._tail
        offset = fresh = len(self._tail)
        cursor = start
        while cursor < end:
            self._apply_due(cursor)
            tempo = self._state.tempo
            beat = tempo.beat_at(cursor)  # automation never moves the tempo: one lookup serves both uses
            if self._state.automations:
                self._state = self._state.automate(beat)
            stop = end
            if variable:
                _, at = self._timeline.next_due(tempo, cursor)
                if at is not None and at < end:
                    stop = at
                boundary = self._state.next_boundary(beat)
                if boundary is not None:  # a step of a morph lands on its exact sample too
                    stop = min(stop, max(tempo.sample_of(boundary), cursor + 1))
            audio, ok = self._step(cursor, stop - cursor)
            self._join(work, offset, audio, stop - cursor, ok)
            offset += stop - cursor
            cursor = stop
        self._position = end
        if self._follower is not None:
            self._follow(work[fresh:], start, end)
        release = len(work) - self._hold
        self._tail = work[release:].copy()
        self._blocks += 1
        self._generation.add(1000 * (time.perf_counter() - began))
        return work[:release]

    def _follow(self, audio: np.ndarray, start: int, end: int) -> None:
        """Listen to the model; every few seconds, re-align the tempo map to its beat."""
        self._follower.feed(audio, start)
        if end < self._follow_at:
            return
        self._follow_at = end + FOLLOW_EVERY * self.sample_rate
        estimate = self._follower.estimate()
        if estimate is None:
            return
        self.tempo_estimate = estimate
        if estimate.confidence < FOLLOW_CONFIDENCE:
            return
        tempo = self._state.tempo
        bpm = to_fraction(round(estimate.bpm, 2))
        # Keep counting beats as before; move only the fraction that puts them on the model's beat.
        beat = round(tempo.beat_at(estimate.beat_sample)) + (end - estimate.beat_sample) * bpm / (60 * self.sample_rate)
        drift = float((tempo.beat_at(end) - beat) * 60 / bpm)
        if abs(float(bpm - tempo.bpm_at(end))) < 0.05 and abs(drift) < 0.002:
            return
        self._inbox.put(Event(next(self._seq), SetTempo(bpm, None, beat), end, None, self._clock.now()))
        self._report(f"following the model: {estimate}; clock re-aligned by {1000 * drift:+.1f} ms", quiet=True)

    def _join(self, work: np.ndarray, offset: int, audio: np.ndarray, frames: int, ok: bool) -> None:
        """Place one step's audio at ``work[offset:]``: crossfade the backend's
        overlap in, and fade out or in around failures."""
        body = work[offset:offset + frames]
        body[:] = audio[:frames]
        ramps = self._ramps
        if not ok:
            if not self._failing:
                fade = min(self._fade, offset)
                work[offset - fade:offset] *= ramps.down(fade)
                self._failing = True
            self._overlap = None
            return
        if self._failing:
            self._failing = False
            self._fade_in_left = self._fade
            self._overlap = None
        overlap = self._backend.capabilities.overlap
        if overlap and self._overlap is not None:
            n = min(overlap, frames)
            body[:n] = self._overlap[:n] * ramps.equal_power_down(overlap)[:n] \
                + body[:n] * ramps.equal_power_up(overlap)[:n]
        self._overlap = audio[frames:].copy() if overlap else None
        if self._fade_in_left:
            done = self._fade - self._fade_in_left
            n = min(self._fade_in_left, frames)
            body[:n] *= ramps.up(self._fade)[done:done + n]
            self._fade_in_left -= n

    def _release(self, block: np.ndarray) -> None:
        """Send released frames to the recorder and account for them."""
        if self._recorder is not None and len(block):
            try:
                self._recorder.write(block)
            except Exception as error:
                self._report(f"recording stopped: {error}")
                self._recorder = None
        if self._listeners and len(block):
            self._tell_listeners(block)
        self._emitted += len(block)

    def listen(self, fn: Callable[[int, np.ndarray], Any]) -> ListenerHandle:
        """Call ``fn(sample, block)`` with every block of audio the engine releases.

        ``block`` is read-only float32 ``(frames, channels)`` and ``sample`` the
        position of its first frame; together the blocks are exactly what the
        sink plays and the recorder writes. Live, listeners run on the
        generation worker (never on the audio callback), so they must be quick:
        copy the block and hand it to a thread of your own. Offline they run on
        :meth:`render`'s thread. A listener that raises is reported (once per
        streak of failures) and still called; the music never stops for it.
        Returns a handle whose ``cancel()`` stops the calls.
        """
        if not callable(fn):
            raise TypeError(f"a listener is a function of (sample, block), got {type(fn).__name__}")
        handle = ListenerHandle(fn, self)
        self._listeners += (handle,)
        return handle

    def _tell_listeners(self, block: np.ndarray) -> None:
        view = block.view()
        view.flags.writeable = False
        for handle in self._listeners:
            try:
                handle.fn(self._emitted, view)
            except Exception as error:  # a listener's bug never stops the music
                if not handle.failing:
                    name = getattr(handle.fn, "__qualname__", repr(handle.fn))
                    self._report(f"audio listener {name} raised: {type(error).__name__}: {error}; "
                                 f"it keeps being called",
                                 detail="".join(traceback.format_exception(type(error), error, error.__traceback__)))
                handle.failing = True
            else:
                handle.failing = False

    @property
    def message_count(self) -> int:
        """Messages reported since the engine was made (``messages`` keeps the newest 100)."""
        return self._message_count

    def _report(self, message: str, *, detail: str = "", quiet: bool = False) -> None:
        self.messages.append(message)
        self._message_count += 1
        if self._log is not None:
            self._log.note(self._position, "message", message)
        if not (self._quiet or quiet):
            print(f"lmk: {message}", file=sys.stderr)
            if detail:
                print(detail.rstrip(), file=sys.stderr)

    # ---------------------------------------------------------------- offline
    def render(self, seconds: float | None = None, *, frames: int | None = None,
               progress: Callable[[int, int], None] | None = None, keep: bool = True) -> np.ndarray:
        """Render the next ``seconds`` (or ``frames``) of audio offline, as fast as possible.

        Returns float32 ``(frames, channels)`` (empty when ``keep=False``, for
        long renders that only go to the recorder). ``progress(done, total)``
        is called after each block.
        """
        if self.running:
            raise EngineError("the engine is streaming live; stop() it before render()")
        if frames is None:
            if seconds is None or not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"render() needs seconds >= 0 (or frames), got {seconds!r}")
            frames = int(round(seconds * self.sample_rate))
        if frames < 0:
            raise ValueError(f"render() needs frames >= 0, got {frames}")
        chunks = []
        done = 0
        while done < frames:
            if not len(self._carry):
                self._carry = self._generate_block()
            take = self._carry[:frames - done]
            self._carry = self._carry[len(take):]
            self._release(take)
            if keep:
                chunks.append(take)
            done += len(take)
            if progress is not None:
                progress(done, frames)
        if isinstance(self._clock, OfflineClock):
            self._clock.set(self._emitted / self.sample_rate)
        if not keep or not chunks:
            return np.zeros((0, self.channels), dtype=np.float32)
        return np.concatenate(chunks)

    def wait(self, seconds: float | None = None, *, beats: Real | None = None) -> None:
        """Let time pass: live, sleep; offline, move the script's "now" on.

        So a session script (``engine.set_prompt(...); engine.wait(beats=8); ...``)
        places its changes at the same samples live and offline.
        """
        if (seconds is None) == (beats is None):
            raise ValueError("wait() takes seconds or beats (one of them)")
        if beats is not None:
            beats = to_fraction(beats)
            if beats < 0:
                raise ValueError(f"wait() needs beats >= 0, got {beats}")
        elif not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"wait() needs seconds >= 0, got {seconds}")
        if self.running:
            if beats is not None:
                seconds = float(beats * 60 / self._state.controls.bpm)
            self._clock.sleep(seconds)
            return
        now = self.horizon
        if beats is not None:
            tempo = self._script_tempo
            self._script_sample = tempo.sample_of(tempo.beat_at(now) + beats)
        else:
            self._script_sample = now + int(round(seconds * self.sample_rate))

    # ------------------------------------------------------------------- live
    def start(self) -> Engine:
        """Start streaming to the sink in the background. Returns the engine."""
        if self.running:
            return self
        if self._sink_spec is None:
            raise EngineError("this engine is offline (sink=None): call render(), "
                              "or create it with sink='auto' or sink='null' to stream")
        if not self._clock.live:
            raise EngineError("streaming live needs a live clock; drop the clock argument")
        lead_frames = int(self.lead * self.sample_rate)
        capacity = 1 << int(math.ceil(math.log2(lead_frames + 4 * self.block_size + self._hold + 8192)))
        self._ring = Ring(capacity, self.channels)
        self._ring.written = self._ring.read = self._emitted  # positions stay absolute across restarts
        self._playhead = Playhead(self._ring)
        self._stopping.clear()
        if len(self._carry):
            self._release(self._carry)
            self._ring.write(self._carry)
            self._carry = self._carry[:0]
        # Callbacks for the opening beats run now, before the priming blocks that hold them.
        primed = self._position + lead_frames + 2 * self.block_size
        self._clock._run_due(self.tempo.beat_at(primed + int(getattr(self._clock, "lookahead", 0) * self.sample_rate)))
        while self._ring.fill < lead_frames:  # prime the ring so playback starts full
            self._push(self._generate_block())
        self._sink = open_sink(self._sink_spec, self._device, self._playhead, self.sample_rate,
                               self.channels, self._clock, self._report)
        self._playhead.counting = True
        self._worker = threading.Thread(target=self._run, args=(lead_frames,), name="lmk-worker", daemon=True)
        self._worker.start()
        self._clock._start(self)
        return self

    def _push(self, block: np.ndarray) -> None:
        while self._ring.space < len(block) and not self._stopping.is_set():
            self._stopping.wait(0.002)  # only if the sink has stalled: never drop generated audio
        self._release(block)
        self._ring.write(block)

    def _run(self, lead_frames: int) -> None:
        ring, rate = self._ring, self.sample_rate
        while not self._stopping.is_set():
            try:
                fill = ring.fill
                self._queue_min = min(self._queue_min, fill)
                self._resolve_live_latency()
                if fill >= lead_frames:
                    self._stopping.wait((fill - lead_frames + 1) / rate)
                    continue
                self._push(self._generate_block())
            except Exception as error:  # the worker itself must never die
                self._report(f"engine worker error: {error}",
                             detail="".join(traceback.format_exception(type(error), error, error.__traceback__)))
                self._stopping.wait(0.01)

    def _resolve_live_latency(self) -> None:
        timing = self._playhead.timing()
        if timing is None:
            return
        heard_at, heard_sample = timing
        while self._probes and self._probes[0][0] <= heard_sample:
            sample, posted = self._probes.popleft()
            self._latency.add(1000 * (heard_at + (sample - heard_sample) / self.sample_rate - posted))

    def stop(self) -> None:
        """Stop streaming. The recorder gets everything generated; the engine can start again."""
        if not self.running:
            return
        self._clock._stop()
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        self._stopping.set()
        self._worker.join(timeout=5.0)
        self._worker = None
        self._playhead.counting = False

    def close(self) -> None:
        """Stop, finish the recording and the session log, and release the backend.

        The recording and the log end with the last frame released to the sink
        (live) or returned by :meth:`render` (offline): the few held-back
        milliseconds were never heard, so they are not kept.
        """
        self.stop()
        self._injector.close()
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if self._log is not None:
            self._log.close(self._emitted)
            self._log = None
        self._backend.close()

    def ui(self, **options: Any):
        """The notebook instrument: player, transport, prompts, XY pad, scope and timeline together.

        Needs the ``jupyter`` extra. ``options`` go to :class:`livemusic_kernel.widgets.Instrument`
        (``corners=`` the XY pad's four prompts, ``player=`` the Player's options).
        """
        from .widgets import Instrument

        return Instrument(self, **options)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "streaming" if self.running else "stopped"
        return (f"<Engine {self._backend.name} {self.bpm:g} BPM, {state}, "
                f"{self._position / self.sample_rate:.1f} s generated, slots {list(self.slots)}>")


def _logged_options(backend: Backend) -> dict[str, Any]:
    """The options that rebuild ``backend`` (its ``options``, where it has them), for the session
    log's header; a replay builds the same model from them."""
    options = dict(getattr(backend, "options", None) or {})
    try:
        json.dumps(options)
    except (TypeError, ValueError):
        return {}  # options a log cannot hold: a replay builds the backend with its defaults
    return options


def _weight(weight: float) -> float:
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"a weight is a number >= 0, got {weight!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a weight is a finite number >= 0, got {weight!r}")
    return value


def _positive_beats(beats: Real, name: str) -> Fraction:
    value = to_fraction(beats)
    if value <= 0:
        raise ValueError(f"{name} is a positive number of beats, got {beats!r}")
    return value


def _check_curve(curve: str, steps: int | None, beats: Fraction) -> tuple[str, int | None]:
    if curve not in CURVES:
        raise ValueError(f"unknown curve {curve!r}; choose one of: {', '.join(CURVES)}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps is a whole number >= 1 (or None), got {steps!r}")
    if curve == "step" and steps is None:
        steps = max(1, math.floor(beats))  # one plateau per beat
    return curve, steps


def _check_note(note: int) -> int:
    if isinstance(note, bool) or not isinstance(note, (int, np.integer)) or not 0 <= note <= 127:
        raise ValueError(f"a note is a MIDI note number from 0 to 127, got {note!r}")
    return int(note)


def _check_meter(beats_per_bar: int) -> int:
    if isinstance(beats_per_bar, bool) or not isinstance(beats_per_bar, int) or not 1 <= beats_per_bar <= 64:
        raise ValueError(f"beats_per_bar is a whole number from 1 to 64, got {beats_per_bar!r}")
    return beats_per_bar


def _prompt_key(prompt: Prompt) -> tuple:
    return (prompt.kind, prompt.text, str(prompt.path), id(prompt.clip))


def _check_slot_name(slot: str) -> str:
    if not isinstance(slot, str) or not slot.strip() or len(slot) > 64:
        raise ValueError(f"a slot name is a non-empty string of at most 64 characters, got {slot!r}")
    return slot.strip()


class _Ramps:
    """Fade curves, computed once per length."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], np.ndarray] = {}

    def _get(self, kind: str, n: int) -> np.ndarray:
        key = (kind, n)
        if key not in self._cache:
            x = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
            curve = {"up": 0.5 - 0.5 * np.cos(np.pi * x), "down": 0.5 + 0.5 * np.cos(np.pi * x),
                     "eq_up": np.sin(0.5 * np.pi * x), "eq_down": np.cos(0.5 * np.pi * x)}[kind]
            self._cache[key] = curve.astype(np.float32)[:, None]
        return self._cache[key]

    def up(self, n: int) -> np.ndarray:
        return self._get("up", n)

    def down(self, n: int) -> np.ndarray:
        return self._get("down", n)

    def equal_power_up(self, n: int) -> np.ndarray:
        return self._get("eq_up", n)

    def equal_power_down(self, n: int) -> np.ndarray:
        return self._get("eq_down", n)
