"""Audio injection: a performer's input mixed into the model's context, never into the output.

The live music models paper (§4.2, App. E) steers a model with a live audio
stream: the input is mixed with the model's past output and fed back as the
context it continues, so the model answers a past that includes the performer,
while their audio is never played back. :meth:`Engine.inject` attaches a
source (:mod:`~livemusic_kernel.sources`); the :class:`Injector` here does the
rest on the generation worker.

Time
----
Input lives in *output time*: the input sample ``s`` is what the performer
played while hearing output sample ``s``. Before each step of the model the
worker collects what the sources have delivered (live rings, and virtual
performers up to the engine's lead behind the newest generated sample, which is
as far as a player could have played), then hands the backend the part of the
context that is new:

* **free** mode: input at its true time. What has not arrived yet (the lead,
  the interface's latency, and ``input_gap`` seconds more) is silent in the
  context; it is mixed in at its place when it arrives.
* **looper** mode: the input of the previous loop, ``loop_beats`` beats of the
  clock earlier, so the whole context holds input, up to the end of the step
  being generated (less ``input_gap``). A loop boundary of the input lands on the
  loop boundary of the clock, to the sample.

Controls (``inject_mode``, ``inject_gain``, ``feedback_gain``, ``input_gap``,
``loop_beats``) are ordinary timeline controls: ``engine.set(...)`` at a beat,
``engine.ramp("inject_gain", 0, beats=8)``, logged and replayed.

The backend hook
----------------
Backends with ``capabilities.audio_injection`` (and Magenta RT 2 models whose
``can_inject`` is true) get ``backend.inject(state, audio, start=, gain=)``:
they mix input into the context of the samples they are about to generate,
never into the past. For them free input reaches the context a fixed delay
after it was played (the lead, the interface's latency, a block and
``input_gap``: what the model could not have heard sooner), and looper input
reaches to the end of the step being generated. A backend that only has a
context hook ``hear(state, audio, start)`` (the builtin model) hears the past:
free input at its true time, looper input up to the step. The hook runs
before the backend's step, with the audio that is new since the last call
(silence is not sent); nothing else of the input ever reaches the backend,
the sink or the recorder.

Replay
------
With a session log, every piece of audio handed to the backend is appended to
a float32 WAV beside the log (``set.input.wav`` for ``set.jsonl``) and logged
with the sample of the step it came before, so a replay hands the backend the
same audio at the same steps, bit for bit, without the sources.
"""

from __future__ import annotations

import collections
import math
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InjectionError
from .sources import ARRIVED, InputRing, LiveSource, Source, VirtualSource, as_source, ring_for

if TYPE_CHECKING:
    from .engine import Engine
    from .models import Backend, BlockRequest

__all__ = ["Injector", "InjectionHandle", "context_hook", "input_file_for", "STALL_SECONDS", "HISTORY_SECONDS"]

#: A live source this far behind the others is not waited for (its late audio is dropped).
STALL_SECONDS = 1.0
#: Input kept beyond the longest loop, in seconds.
HISTORY_SECONDS = 4.0
#: An arrival-stamped source's alignment moves only when its estimate moves by more than this.
REANCHOR_SECONDS = 0.001
#: Arrival times are judged over this window: the earliest arrival is the least delayed by scheduling.
ALIGN_WINDOW_SECONDS = 10.0

@dataclass(frozen=True)
class Hook:
    """How a backend hears injected input: ``fn(state, audio, start, gain) -> state``."""

    fn: Callable[[Any, np.ndarray, int, float], Any]
    #: True: it takes input only for the samples it is about to generate (it mixes input into
    #: the context as it makes it, like Magenta RT 2); False: it hears any past sample.
    ahead: bool


def context_hook(backend: Backend) -> Hook | None:
    """How ``backend`` hears injected input, or None when it cannot."""
    if backend.capabilities.audio_injection or getattr(backend, "can_inject", False) is True:
        # Magenta RT 2 models with a codec encoder inject though their capability says not yet.
        return Hook(lambda state, audio, start, gain: backend.inject(state, audio, start=start, gain=gain), True)
    hear = getattr(backend, "hear", None)
    if callable(hear):  # a context hook of its own (the builtin model's), which takes no gain
        return Hook(lambda state, audio, start, gain: hear(state, audio * np.float32(gain), start), False)
    return None


def input_file_for(log: Path) -> Path:
    """The WAV of injected input beside a session log: ``set.jsonl`` -> ``set.input.wav``."""
    return log.with_name(log.stem + ".input.wav")


class InjectionHandle:
    """What :meth:`Engine.inject` returns: the source, its figures, and :meth:`stop`."""

    def __init__(self, injector: Injector, source: Source):
        self._injector = injector
        self.source = source
        #: Frames the source delivered, and frames dropped (a full ring, or arriving too late).
        self.received = 0
        self.dropped = 0
        #: True once the source has ended (a file played once) or been stopped, and closed.
        self.finished = False
        #: The round trip used to align arrival-stamped input, in seconds (None for other sources).
        self.latency: float | None = None

    def stop(self, *, at_sample: int | None = None, at_beat: Any = None) -> None:
        """Stop injecting this source at a sample or beat (default: now). Idempotent."""
        self._injector._post_stop(self, at_sample, at_beat)

    def __repr__(self) -> str:
        state = "finished" if self.finished else "injecting"
        return f"<InjectionHandle {self.source.describe()}, {state}, {self.received / 48000:.1f} s received>"


class _Aligner:
    """Turns arrival stamps into output samples: the packet that arrived when the sink had taken
    ``stamp`` samples ends at ``stamp - round_trip``. Scheduling only ever delays an arrival, so
    the earliest arrival seen in the last few seconds is the truest."""

    def __init__(self, round_trip: int, window: int, tolerance: int):
        self.round_trip, self.window, self.tolerance = round_trip, window, tolerance
        self.frames = 0
        self.offset: int | None = None
        self._candidates: collections.deque[tuple[int, int]] = collections.deque()

    def place(self, stamp: int, frames: int) -> int:
        end = self.frames + frames
        candidate = stamp - self.round_trip - end
        while self._candidates and self._candidates[-1][1] >= candidate:
            self._candidates.pop()
        self._candidates.append((end, candidate))
        while self._candidates[0][0] < end - self.window:
            self._candidates.popleft()
        best = self._candidates[0][1]
        if self.offset is None or abs(best - self.offset) > self.tolerance:
            self.offset = best
        start = self.frames + self.offset
        self.frames = end
        return start


@dataclass
class _Attached:
    """A source as the worker sees it."""

    source: Source
    handle: InjectionHandle
    ring: InputRing | None = None
    aligner: _Aligner | None = None
    start: int | None = None      # the input sample where it begins (resolved on the worker)
    stop: int | None = None       # where it ends
    watermark: int | None = None  # input collected up to here
    produced: int = 0             # a virtual source's frames read so far
    ended: bool = False           # nothing more will come
    late: int = 0                 # a live source's frames that arrived after their place was taken


class _Track:
    """Collected input in output time: a ring indexed by absolute sample, sources mixed."""

    def __init__(self, channels: int, capacity: int):
        self.channels = channels
        self.capacity = capacity
        self.buffer = np.zeros((capacity, channels), np.float32)
        self.head = 0  # the newest sample written, exclusive

    def grow(self, capacity: int) -> None:
        if capacity <= self.capacity:
            return
        old = self.read(self.head - self.capacity, self.head)
        self.buffer = np.zeros((capacity, self.channels), np.float32)
        self.capacity = capacity
        self._put(self.head - len(old), old)

    def add(self, start: int, audio: np.ndarray) -> None:
        end = start + len(audio)
        if end > self.head:  # what was there a lap ago is forgotten first
            clear_from = max(self.head, end - self.capacity)
            self._put(clear_from, np.zeros((end - clear_from, self.channels), np.float32))
            self.head = end
        floor = self.head - self.capacity
        if start < floor:
            audio, start = audio[floor - start:], floor
        if len(audio):
            self._put(start, self._get(start, len(audio)) + audio)

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end): silence where nothing was collected (or it was forgotten)."""
        out = np.zeros((max(end - start, 0), self.channels), np.float32)
        low, high = max(start, self.head - self.capacity, 0), min(end, self.head)
        if high > low:
            out[low - start:high - start] = self._get(low, high - low)
        return out

    def _indices(self, start: int, frames: int) -> tuple[int, int]:
        at = start % self.capacity
        return at, min(frames, self.capacity - at)

    def _get(self, start: int, frames: int) -> np.ndarray:
        at, first = self._indices(start, frames)
        return np.concatenate([self.buffer[at:at + first], self.buffer[:frames - first]])

    def _put(self, start: int, audio: np.ndarray) -> None:
        at, first = self._indices(start, len(audio))
        self.buffer[at:at + first] = audio[:first]
        self.buffer[:len(audio) - first] = audio[first:]


@dataclass(frozen=True)
class LoggedInput:
    """One piece of input handed to the backend, as a session log records it."""

    sample: int   # the step it came before
    start: int    # where it lies in the context
    frames: int


class Injector:
    """The engine's injection machinery (see the module docstring). User threads call
    :meth:`attach` and the handles' ``stop``; everything else runs on the generation worker."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._rate, self._channels = engine.sample_rate, engine.channels
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._attached: list[_Attached] = []
        self._track: _Track | None = None  # made with the first source
        self._delivered: int | None = None  # the context is filled with input up to here
        self._complete: int | None = None   # input has been collected up to here
        self._until = 0                     # input remains to be heard up to here
        self._shift = 0                     # the steady delay of free input, for backends that hear ahead
        self._hooks: dict[int, Hook | None] = {}
        self._listeners: tuple[Callable[[int, np.ndarray], Any], ...] = ()
        self._failing = False
        self._warned_no_hook = False
        self._recorder = None
        self._replay: collections.deque | None = None
        self._replay_audio: np.ndarray | None = None
        self._replay_at = 0
        self._closers: list[threading.Thread] = []
        self._on_close: list[Callable[[], Any]] = []
        #: Seconds of input handed to the backend, and pieces handed.
        self.delivered_frames = 0
        self.deliveries = 0

    # -- user threads ---------------------------------------------------------------------------
    def attach(self, spec: Any, *, loop: bool = True, latency: float | None = None,
               at_sample: int | None = None, at_beat: Any = None) -> InjectionHandle:
        """Open a source and post its start (see :meth:`Engine.inject`)."""
        engine = self._engine
        if context_hook(engine._posted_backend) is None:
            raise InjectionError(f"backend {engine._posted_backend.name!r} cannot hear injected audio; backends "
                                 f"that can: builtin, and magenta with its codec encoder")
        source = as_source(spec, loop=loop, latency=latency)
        if getattr(source, "_attached_to", None) is not None:
            raise InjectionError(f"{source.describe()} is already injected; stop() it first, or make another")
        handle = InjectionHandle(self, source)
        attached = _Attached(source, handle)
        if isinstance(source, VirtualSource):
            source.prepare(self._rate, self._channels)
        else:
            attached.ring = ring_for(self._channels, self._rate)
            round_trip = self._round_trip(source)
            handle.latency = round_trip
            attached.aligner = _Aligner(round(round_trip * self._rate), int(ALIGN_WINDOW_SECONDS * self._rate),
                                        int(REANCHOR_SECONDS * self._rate))
            source.open(engine, attached.ring)
        source._attached_to = engine
        sample, beat = self._when(at_sample, at_beat)
        if sample is None and beat is None and attached.ring is not None:
            # Live input starts with what the performer plays now, against the sample they hear.
            sample = max(engine.played - round((handle.latency or 0.0) * self._rate), 0)
        self._inbox.put(("start", attached, sample, beat))
        return handle

    def _round_trip(self, source: LiveSource) -> float:
        if source.latency is not None:
            if not (isinstance(source.latency, (int, float)) and 0 <= source.latency <= 5):
                raise ValueError(f"latency is the round trip in seconds, from 0 to 5, got {source.latency!r}")
            return float(source.latency)
        from .latency import stored_latency

        stored = stored_latency(source.device)
        if stored is None:
            self._engine._report(f"no latency measured for {source.describe()}: its input is aligned as if the "
                                 f"round trip were 0 ms; run `lmk latency` once to measure it")
            return 0.0
        return stored

    def _when(self, at_sample: int | None, at_beat: Any) -> tuple[int | None, Fraction | None]:
        from .tempo import to_fraction

        if at_sample is not None and at_beat is not None:
            raise ValueError("give at_sample or at_beat, not both")
        if at_sample is not None and (isinstance(at_sample, bool) or not isinstance(at_sample, (int, np.integer))
                                      or at_sample < 0):
            raise ValueError(f"at_sample is a sample position >= 0, got {at_sample!r}")
        beat = None if at_beat is None else to_fraction(at_beat)
        if beat is not None and beat < 0:
            raise ValueError(f"at_beat is a beat position >= 0, got {at_beat!r}")
        if at_sample is None and beat is None:
            beat = getattr(self._engine._context, "beat", None)  # inside a clock callback: its beat
        if at_sample is None and beat is None and not self._engine.running:
            at_sample = self._engine.horizon
        return (None if at_sample is None else int(at_sample)), beat

    def _post_stop(self, handle: InjectionHandle, at_sample: int | None, at_beat: Any) -> None:
        self._inbox.put(("stop", handle, *self._when(at_sample, at_beat)))

    def listen(self, fn: Callable[[int, np.ndarray], Any]) -> Callable[[], None]:
        """Call ``fn(sample, audio)`` on the worker with all input as it is collected (output time,
        before gain); returns a function that stops the calls."""
        self._listeners += (fn,)

        def cancel() -> None:
            self._listeners = tuple(f for f in self._listeners if f is not fn)
        return cancel

    def on_close(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` when the engine closes (what listens to the input stops with it)."""
        self._on_close.append(fn)

    def replay(self, inputs: list[LoggedInput], audio: np.ndarray) -> None:
        """Hand the backend exactly the logged input (a replay), instead of any source."""
        self._replay = collections.deque(inputs)
        self._replay_audio = audio

    @property
    def sources(self) -> list[InjectionHandle]:
        """The sources injecting now (a snapshot)."""
        return [a.handle for a in list(self._attached)]

    # -- the worker -------------------------------------------------------------------------------
    def feed(self, backend: Backend, state: Any, request: BlockRequest) -> Any:
        """Before a step: collect input and hand the backend the part of its context that is new.
        A bug here never stops the music: it is reported and the step goes on without input."""
        try:
            if self._replay is not None:
                return self._feed_replay(backend, state, request)
            if not self._attached and self._inbox.empty() and (self._complete is None or
                                                               self._delivered >= self._until):
                return state
            return self._feed(backend, state, request)
        except Exception as error:
            if not self._failing:
                self._engine._report(f"audio injection failed at sample {request.start}: "
                                     f"{type(error).__name__}: {error}; the music goes on without input",
                                     detail=traceback.format_exc())
            self._failing = True
            return state

    def _feed(self, backend: Backend, state: Any, request: BlockRequest) -> Any:
        self._drain(request)
        self._collect(request)
        self._update_complete()
        self._retire(request)
        hook = self._hook(backend)
        if hook is None or self._complete is None or self._delivered is None:
            return state
        piece = self._next_piece(request, hook.ahead)
        if piece is None:
            return state
        at, audio = piece
        if not audio.any():  # silence is no input: the context keeps what the model made
            return state
        return self._hand(hook, backend, state, audio, at, request.controls.inject_gain, request.start)

    def _next_piece(self, request: BlockRequest, ahead: bool) -> tuple[int, np.ndarray] | None:
        """Where the new input goes in the context, and the input (see the module docstring)."""
        controls, track = request.controls, self._track
        gap = int(round(controls.input_gap * self._rate))
        low, complete = self._delivered, self._complete
        if controls.inject_mode == "looper":
            loop = self._loop_frames(request.tempo, low, controls.loop_beats)
            self._until = complete + loop
            if ahead:  # the past is out of its reach; the step's own samples are the newest context
                low, end = max(low, request.start), request.start + request.frames
            else:
                end = request.start - gap
            high = min(end, complete + loop)
            if high <= low:
                return None
            self._delivered = high
            return low, track.read(low - loop, high - loop)
        self._until = complete
        high = complete if ahead else min(complete, request.start - gap)
        if high <= low:
            return None
        self._delivered = high
        at = low
        if ahead:  # heard a steady delay after it was played: the soonest this model can hear it
            self._shift = max(self._shift, request.start + gap - low)
            at = low + self._shift
        return at, track.read(low, high)

    @staticmethod
    def _loop_frames(tempo: Any, sample: int, beats: float) -> int:
        """The loop's length in samples, ending at ``sample``: exact beats of the clock."""
        loop = Fraction(beats).limit_denominator(1 << 16)
        beat = tempo.beat_at(sample) - loop
        if beat >= 0:
            return sample - tempo.sample_of(beat)
        return int(round(float(loop * 60 / tempo.bpm_at(sample)) * tempo.sample_rate))

    def _hand(self, hook: Hook, backend: Backend, state: Any, audio: np.ndarray, at: int, gain: float,
              step: int) -> Any:
        try:
            new = hook.fn(state, audio, at, gain)
        except Exception as error:  # a failing hook never stops the music: the context goes without
            if not self._failing:
                self._engine._report(
                    f"backend {backend.name!r} could not take injected audio at sample {at}: "
                    f"{type(error).__name__}: {error}; the music goes on without it",
                    detail="".join(traceback.format_exception(type(error), error, error.__traceback__)))
            self._failing = True
            return state
        self._failing = False
        self.delivered_frames += len(audio)
        self.deliveries += 1
        self._record(step, at, audio)
        return new

    def _hook(self, backend: Backend) -> Hook | None:
        key = id(backend)
        if key not in self._hooks:
            self._hooks = {key: context_hook(backend)}  # one backend at a time: forget the last
            if self._hooks[key] is None and not self._warned_no_hook:
                self._warned_no_hook = True
                self._engine._report(f"backend {backend.name!r} cannot hear injected audio: the input is "
                                     f"collected but not heard until a backend that can plays")
        return self._hooks[key]

    def _drain(self, request: BlockRequest) -> None:
        tempo = request.tempo
        while True:
            try:
                kind, target, sample, beat = self._inbox.get_nowait()
            except queue.Empty:
                return
            at = request.start if sample is None and beat is None else (
                tempo.sample_of(beat) if beat is not None else sample)
            if kind == "start":
                target.start = max(at, 0)
                if not self._attached:  # a fresh take: the context starts filling from here
                    self._delivered, self._complete, self._shift = target.start, None, 0
                    if self._track is None:
                        self._track = _Track(self._channels, self._capacity_for(8.0, 120.0))
                self._attached.append(target)
                self._log_note(f"input started at sample {target.start}: {target.source.describe()}")
            else:
                for attached in self._attached:
                    if attached.handle is target and attached.stop is None:
                        attached.stop = max(at, attached.start)

    def _collect(self, request: BlockRequest) -> None:
        start, controls = request.start, request.controls
        self._track.grow(self._capacity_for(controls.loop_beats, float(request.tempo.bpm_at(start))))
        reachable = start - int(round(self._engine.lead * self._rate))  # where a performer can have got to
        for attached in self._attached:
            if attached.ring is not None:
                self._collect_live(attached)
                if attached.stop is not None and ((attached.watermark or 0) >= attached.stop or
                                                  reachable >= attached.stop + STALL_SECONDS * self._rate):
                    attached.ended = True
                continue
            end = reachable if attached.stop is None else min(reachable, attached.stop)
            at = attached.start + attached.produced
            if end > at:
                audio = attached.source.read(end - at)
                attached.produced += len(audio)
                self._put(attached, at, audio)
                attached.watermark = end
                if len(audio) < end - at:  # the source has ended: its input is complete where it stopped
                    attached.watermark = at + len(audio)
                    attached.ended = True
            if attached.stop is not None and attached.start + attached.produced >= attached.stop:
                attached.ended = True

    def _collect_live(self, attached: _Attached) -> None:
        for kind, stamp, audio in attached.ring.take():
            at = attached.aligner.place(stamp, len(audio)) if kind == ARRIVED else stamp
            floor = attached.start if attached.watermark is None else max(attached.start, attached.watermark)
            if floor > at:  # overlaps what was collected (or precedes the start): too late
                attached.late += min(floor - at, len(audio))
                audio, at = audio[floor - at:], floor
            if attached.stop is not None:
                audio = audio[:max(attached.stop - at, 0)]
            if len(audio):
                self._put(attached, at, audio)
                attached.watermark = at + len(audio)
        attached.handle.dropped = attached.ring.dropped + attached.late

    def _put(self, attached: _Attached, at: int, audio: np.ndarray) -> None:
        if not len(audio):
            return
        attached.handle.received += len(audio)
        self._track.add(at, audio)
        for fn in self._listeners:
            try:
                fn(at, audio)
            except Exception:  # a listener's bug never stops the music
                print(f"lmk: an input listener raised; it keeps being called\n{traceback.format_exc()}",
                      file=sys.stderr)

    def _update_complete(self) -> None:
        """Input is complete up to the slowest source still coming (a live source far behind the
        others, or one that never delivered, is not waited for); it never moves back."""
        coming = [a.watermark for a in self._attached if not a.ended and a.watermark is not None]
        if coming:
            stalled = max(coming) - int(STALL_SECONDS * self._rate)
            complete = min(w for w in coming if w >= stalled)
        else:
            done = [a.watermark for a in self._attached if a.watermark is not None]
            if not done:
                return
            complete = max(done)
        self._complete = complete if self._complete is None else max(self._complete, complete)

    def _retire(self, request: BlockRequest) -> None:
        """Close the sources that have ended: their input stays in the track until it is heard."""
        for attached in [a for a in self._attached if a.ended]:
            self._attached.remove(attached)
            self._log_note(f"input ended: {attached.source.describe()}")
            self._close(attached)

    def _close(self, attached: _Attached) -> None:
        attached.handle.finished = True
        source = attached.source
        source._attached_to = None
        if isinstance(source, LiveSource):  # closing a stream blocks: never on the worker
            thread = threading.Thread(target=source.close, name="lmk-input-close", daemon=True)
            thread.start()
            self._closers.append(thread)

    def _capacity_for(self, loop_beats: float, bpm: float) -> int:
        seconds = loop_beats * 60.0 / max(bpm, 1.0) + HISTORY_SECONDS + 2 * self._engine.lead
        return 1 << math.ceil(math.log2(seconds * self._rate))

    # -- logging and replay -----------------------------------------------------------------------
    def _log_note(self, message: str) -> None:
        log = self._engine._log
        if log is not None:
            log.note(self._engine.position, "input", message)

    def _record(self, step: int, at: int, audio: np.ndarray) -> None:
        log = self._engine._log
        if log is None or self._replay is not None:
            return
        if self._recorder is None:
            from .recorder import WavRecorder

            path = input_file_for(log.path)
            self._recorder = WavRecorder(path, self._rate, self._channels, "float32")
            log.input_file(path.name)
        self._recorder.write(audio)
        log.input(step, at, len(audio))

    def _feed_replay(self, backend: Backend, state: Any, request: BlockRequest) -> Any:
        hook = self._hook(backend)
        while self._replay and self._replay[0].sample <= request.start:
            logged = self._replay.popleft()
            audio = self._replay_audio[self._replay_at:self._replay_at + logged.frames]
            self._replay_at += logged.frames
            if hook is not None:
                state = self._hand(hook, backend, state, audio, logged.start, request.controls.inject_gain,
                                   request.start)
        return state

    def close(self) -> None:
        """Stop every source and finish the input WAV (the engine's close does this)."""
        for fn in self._on_close:
            fn()
        for attached in self._attached:
            self._close(attached)
        self._attached = []
        while not self._inbox.empty():
            kind, target, _, _ = self._inbox.get_nowait()
            if kind == "start":
                self._close(target)
        for thread in self._closers:
            thread.join(timeout=2.0)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    def figures(self) -> dict[str, Any]:
        """What injection is doing: sources, input received and heard, drops."""
        handles = self.sources
        return {"sources": [h.source.describe() for h in handles],
                "received_s": sum(h.received for h in handles) / self._rate,
                "dropped_frames": sum(h.dropped for h in handles),
                "delivered_s": self.delivered_frames / self._rate, "deliveries": self.deliveries}
