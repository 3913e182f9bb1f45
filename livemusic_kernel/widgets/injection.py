"""The Injection panel: how a performer's audio steers the model, and what it is getting.

Audio injection mixes a performer's input into the model's context (never into
the output; see :mod:`livemusic_kernel.injection`). This panel sets the
engine's injection controls through its ordinary controls (``engine.set`` at
once, or ``engine.ramp`` over a few beats when a glide is chosen): the mode
(*free* or *looper*), input gain, feedback gain, input gap and loop length. It
lists the sources injecting now with what each has delivered, starts an audio
file (uploaded from the browser: a view never names a file on the kernel's
machine) and stops any source, and shows the level of the input the model is
getting, whatever its source. The browser's microphone is the Player's (its
mic button), since it needs the Player's audio clock.
"""

from __future__ import annotations

import itertools
import math
import threading
import weakref
from typing import Any

import numpy as np
import traitlets

from ..engine import Engine
from ..errors import InjectionError
from ..injection import InjectionHandle, context_hook
from ..models.base import INJECT_MODES
from ..timeline import check_param
from ._base import (
    InstrumentWidget,
    Pending,
    decibels,
    flag,
    frontend_file,
    integer,
    number,
    request,
    text,
    uploaded_audio,
)

__all__ = ["Injection", "SLIDERS", "GLIDES"]

#: The numeric controls the panel's sliders set, and the sliders' ranges (code may set the engine's
#: wider ranges; the sliders then show their end).
SLIDERS = {"inject_gain": (0.0, 4.0), "feedback_gain": (0.0, 2.0), "input_gap": (0.0, 4.0),
           "loop_beats": (1.0, 32.0)}
#: How a slider's change may reach the engine: at once (0), or ramped over this many beats.
GLIDES = (0, 1, 2, 4, 8, 16)


class Injection(InstrumentWidget):
    """Injection controls, sources and input level for one engine.

    ``glide_beats`` (one of :data:`GLIDES`) ramps slider changes over that many
    beats with ``engine.ramp`` instead of setting them at once.
    """

    _esm = frontend_file("injection.js")

    #: The engine's injection controls: inject_mode, inject_gain, feedback_gain, input_gap, loop_beats.
    controls = traitlets.Dict().tag(sync=True)
    #: The sliders' ranges: {name: [low, high]}.
    ranges = traitlets.Dict({name: list(bounds) for name, bounds in SLIDERS.items()}).tag(sync=True)
    glide_beats = traitlets.Int(0).tag(sync=True)
    glides = traitlets.List(list(GLIDES)).tag(sync=True)
    #: The sources injecting now: [{"id", "name", "received_s", "dropped", "latency_ms"}].
    sources = traitlets.List().tag(sync=True)
    #: The input the model got in the last poll: {"rms_db", "peak_db"} (None while none came).
    level = traitlets.Dict().tag(sync=True)
    #: False when the engine's model cannot hear injected audio (the panel says so).
    hears = traitlets.Bool(True).tag(sync=True)

    def __init__(self, engine: Engine, *, glide_beats: int = 0, **kwargs: Any):
        if glide_beats not in GLIDES:
            raise ValueError(f"glide_beats is one of {', '.join(map(str, GLIDES))}; got {glide_beats!r}")
        super().__init__(engine, glide_beats=glide_beats, **kwargs)
        self._pending = Pending()
        self._ids: weakref.WeakKeyDictionary[InjectionHandle, int] = weakref.WeakKeyDictionary()
        self._started: dict[int, InjectionHandle] = {}  # by this panel, until the engine lists them
        self._next_id = itertools.count(1)
        self._heard = [0.0, 0, 0.0]  # sum of squares, frames, peak: since the last poll
        self._heard_lock = threading.Lock()
        self._closers.append(engine._injector.listen(self._hear))
        self._poll()
        self._follow(self._poll, 0.2)

    # -- following the engine ------------------------------------------------------------------------
    def _hear(self, sample: int, audio: np.ndarray) -> None:
        """On the generation worker, with all input as it is collected: sums only, nothing more."""
        squares, peak = float(np.square(audio, dtype=np.float64).sum()), float(np.abs(audio).max(initial=0.0))
        with self._heard_lock:
            self._heard[0] += squares
            self._heard[1] += audio.size
            self._heard[2] = max(self._heard[2], peak)

    def _poll(self) -> None:
        with self._heard_lock:
            squares, count, peak = self._heard
            self._heard = [0.0, 0, 0.0]
        level = {"rms_db": decibels(math.sqrt(squares / count)), "peak_db": decibels(peak)} if count else \
            {"rms_db": None, "peak_db": None}
        with self._lock:
            self._update(controls=self._controls(), sources=self._sources(), level=level,
                         hears=context_hook(self.engine._posted_backend) is not None)

    def _controls(self) -> dict[str, Any]:
        controls = self.engine.controls
        shown = {"inject_mode": self._pending.shown("inject_mode", controls.inject_mode)}
        for name in SLIDERS:
            shown[name] = self._pending.shown(name, round(float(getattr(controls, name)), 6))
        return shown

    def _sources(self) -> list[dict[str, Any]]:
        listed = self.engine.injections
        for handle in listed:
            self._started.pop(self._ids.get(handle, 0), None)
        handles = listed + [h for h in self._started.values() if not h.finished and h not in listed]
        rate = self.engine.sample_rate
        return [{"id": self._id(handle), "name": handle.source.describe(),
                 "received_s": round(handle.received / rate, 2), "dropped": int(handle.dropped),
                 "latency_ms": None if handle.latency is None else round(1000 * handle.latency, 1)}
                for handle in handles]

    def _id(self, handle: InjectionHandle) -> int:
        if handle not in self._ids:
            self._ids[handle] = next(self._next_id)
        return self._ids[handle]

    # -- requests ------------------------------------------------------------------------------------
    @request("mode")
    def _request_mode(self, content: dict, buffers: list) -> None:
        mode = text(content, "mode", 16)
        if mode not in INJECT_MODES:
            raise ValueError(f"unknown injection mode {mode!r}; choose one of: {', '.join(INJECT_MODES)}")
        self.engine.set(inject_mode=mode)
        self._pending.expect("inject_mode", mode)
        self._update(controls=self._controls())

    @request("control")
    def _request_control(self, content: dict, buffers: list) -> None:
        name = text(content, "name", 32)
        if name not in SLIDERS:
            raise ValueError(f"unknown injection control {name!r}; choose one of: {', '.join(SLIDERS)}")
        try:
            value = check_param(name, number(content, "value", -1e9, 1e9))  # the engine's own range check
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        if self.glide_beats:
            self.engine.ramp(name, value, beats=self.glide_beats)
        else:
            self.engine.set(**{name: value})
            self._pending.expect(name, round(float(value), 6))  # a ramp moves on its own: show the engine
        self._update(controls=self._controls())

    @request("glide")
    def _request_glide(self, content: dict, buffers: list) -> None:
        beats = integer(content, "beats", 0, max(GLIDES))
        if beats not in GLIDES:
            raise ValueError(f"glide is one of {', '.join(map(str, GLIDES))} beats; got {beats}")
        self.glide_beats = beats

    @request("file")
    def _request_file(self, content: dict, buffers: list) -> dict:
        name = text(content, "filename", 200)
        loop = flag(content, "loop", default=True)
        clip = uploaded_audio(buffers, name, "inject it from code: engine.inject(path)")
        handle = self.inject(clip, loop=loop)
        return {"id": self._id(handle), "seconds": round(clip.seconds, 2)}

    @request("stop")
    def _request_stop(self, content: dict, buffers: list) -> None:
        wanted = integer(content, "id", 1, 2**53)
        handles = self.engine.injections + list(self._started.values())
        handle = next((h for h in handles if self._ids.get(h) == wanted), None)
        if handle is None:
            raise ValueError(f"no source {wanted} is injecting; sources now: "
                             f"{', '.join(str(row['id']) for row in self._sources()) or 'none'}")
        handle.stop()
        self._started.pop(wanted, None)

    def inject(self, source: Any, **options: Any) -> InjectionHandle:
        """``engine.inject(source, **options)``, listed in the panel at once."""
        try:
            handle = self.engine.inject(source, **options)
        except InjectionError as error:
            raise ValueError(str(error)) from None  # a refusal the view shows, not a kernel failure
        self._started[self._id(handle)] = handle
        self._update(sources=self._sources())
        return handle

