"""Where injected audio comes from: a microphone or line input, a file, an array, a generator,
or anything that pushes audio (scsynth by JACK, the browser's microphone, an OSC stream).

Two kinds of source, told apart by ``live``:

* **Virtual performers** (:class:`FileSource`, :class:`ArraySource`,
  :class:`GeneratorSource`) play along in perfect time: their first frame is
  what a performer played while hearing the sample where the injection starts.
  The generation worker reads them itself, and only as far as a performer could
  have played by then (the engine's lead behind the newest generated sample), so
  they reach the model exactly as a live player's input would, the same live
  and offline.
* **Live sources** (:class:`InputDevice`, :class:`PushSource`) run on threads
  of their own (a sound card's callback, a socket, a widget's comm). They only
  copy what they get into a preallocated :class:`InputRing` with a stamp; the
  worker reads the ring. A stamp is either the sample the producer says the
  audio belongs to (the browser knows which sample it played), or, for audio
  that just arrived, the number of samples the engine's sink had taken at that
  moment, which the worker turns into the sample the performer heard by
  subtracting the audio interface's round-trip latency (``lmk latency``).

Every source delivers the engine's channel count at the engine's rate; mono
input is heard on both channels.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .audio import AudioClip, load_audio
from .errors import InjectionError, InputDeviceError

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Source", "FileSource", "ArraySource", "GeneratorSource", "InputDevice", "PushSource", "InputRing",
           "as_source", "input_devices"]

#: A stamp kind: the sample the producer says the packet belongs to.
STAMPED = 1
#: A stamp kind: the samples the engine's sink had taken when the packet arrived.
ARRIVED = 0


class InputRing:
    """A single-producer, single-consumer ring of stamped packets of audio.

    The producer (an audio callback, a socket thread) only copies into
    preallocated arrays and then advances its counters; the consumer (the
    generation worker) only reads behind them. No lock, no allocation on the
    producer's side: a full ring refuses the packet and counts the frames as
    dropped.
    """

    def __init__(self, channels: int, capacity: int, packets: int = 1024):
        self.channels = channels
        self.capacity = int(capacity)
        self._audio = np.zeros((self.capacity, channels), dtype=np.float32)
        self._slots = packets
        self._stamps = np.zeros(packets, dtype=np.int64)
        self._lengths = np.zeros(packets, dtype=np.int64)
        self._kinds = np.zeros(packets, dtype=np.int8)
        self.written = 0            #: frames written (only the producer changes it)
        self.read = 0               #: frames read (only the consumer changes it)
        self.packets_written = 0
        self.packets_read = 0
        self.dropped = 0            #: frames refused because the ring was full

    def write(self, block: np.ndarray, stamp: int, kind: int, columns: Sequence[int]) -> bool:
        """Copy ``block`` (frames, source channels) in, output channel ``c`` taken from
        column ``columns[c]``. Returns False (and counts the frames) when full."""
        frames = len(block)
        if frames == 0:
            return True
        if frames > self.capacity - (self.written - self.read) or \
                self.packets_written - self.packets_read >= self._slots:
            self.dropped += frames
            return False
        start = self.written % self.capacity
        first = min(frames, self.capacity - start)
        rest = frames - first
        for channel, column in enumerate(columns):
            self._audio[start:start + first, channel] = block[:first, column]
            if rest:
                self._audio[:rest, channel] = block[first:, column]
        slot = self.packets_written % self._slots
        self._stamps[slot] = stamp
        self._lengths[slot] = frames
        self._kinds[slot] = kind
        self.written += frames  # published last: the consumer never sees a half-copied packet
        self.packets_written += 1
        return True

    def take(self) -> list[tuple[int, int, np.ndarray]]:
        """Every whole packet written since the last call: ``(kind, stamp, audio)``."""
        packets = []
        while self.packets_read < self.packets_written:
            slot = self.packets_read % self._slots
            frames, stamp, kind = int(self._lengths[slot]), int(self._stamps[slot]), int(self._kinds[slot])
            start = self.read % self.capacity
            first = min(frames, self.capacity - start)
            audio = np.concatenate([self._audio[start:start + first], self._audio[:frames - first]])
            self.read += frames
            self.packets_read += 1
            packets.append((kind, stamp, audio))
        return packets


def _columns(source_channels: int, channels: int, chosen: Sequence[int] | None = None) -> tuple[int, ...]:
    """Which source column feeds each output channel: mono on every channel, else in order."""
    picked = list(chosen) if chosen else list(range(source_channels))
    if len(picked) == 1:
        return tuple(picked * channels)
    return tuple(picked[c % len(picked)] for c in range(channels))


def _as_frames(audio: Any, channels: int) -> np.ndarray:
    """Audio as float32 (frames, channels): mono doubled, extra channels dropped."""
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"audio is (frames,) or (frames, channels), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("audio must be finite; it holds NaN or infinity")
    if array.shape[1] == channels:
        return array
    return array[:, list(_columns(array.shape[1], channels))]


class Source(ABC):
    """Audio a performer plays into the model's context (see the module docstring)."""

    #: True for sources on threads of their own; False for virtual performers the worker reads.
    live: ClassVar[bool] = False

    @abstractmethod
    def describe(self) -> str:
        """A short description for messages and the session log."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class VirtualSource(Source):
    """A performer in perfect time, read by the generation worker."""

    live = False

    def prepare(self, sample_rate: int, channels: int) -> None:
        """Get ready to deliver ``channels`` channels at ``sample_rate`` (on the caller's thread)."""
        self._rate, self._channels = sample_rate, channels

    @abstractmethod
    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames, float32 (frames, channels); fewer only when it has ended."""


class ArraySource(VirtualSource):
    """A NumPy array (or :class:`AudioClip`), played once or looped."""

    def __init__(self, audio: np.ndarray | AudioClip, sample_rate: int = 48000, *, loop: bool = True):
        clip = audio if isinstance(audio, AudioClip) else AudioClip.from_array(audio, sample_rate)
        self.clip, self.loop = clip, bool(loop)
        self._samples: np.ndarray | None = None
        self._at = 0

    def prepare(self, sample_rate: int, channels: int) -> None:
        super().prepare(sample_rate, channels)
        self._samples = _as_frames(self.clip.resampled(sample_rate).samples, channels)
        self._at = 0

    def read(self, frames: int) -> np.ndarray:
        samples = self._samples
        pieces, wanted = [], frames
        while wanted > 0:
            piece = samples[self._at:self._at + wanted]
            if not len(piece):
                if not self.loop:
                    break
                self._at = 0
                continue
            pieces.append(piece)
            self._at += len(piece)
            wanted -= len(piece)
        return np.concatenate(pieces) if pieces else np.zeros((0, self._channels), np.float32)

    def describe(self) -> str:
        return f"{self.clip.seconds:.2f} s array{' (looped)' if self.loop else ''}"


class FileSource(ArraySource):
    """An audio file (WAV, FLAC, OGG, AIFF), played once or looped."""

    def __init__(self, path: str | Path, *, loop: bool = True):
        self.path = Path(path).expanduser()
        super().__init__(load_audio(self.path), loop=loop)

    def describe(self) -> str:
        return f"file {self.path.name}{' (looped)' if self.loop else ''}"


class GeneratorSource(VirtualSource):
    """Audio made by code: an iterable of arrays of any length, or a function called with
    the number of frames wanted that returns an array (of any length). Either ends the
    source by ending (or returning None or an empty array). Audio is at the engine's rate."""

    def __init__(self, make: Callable[[int], Any] | Iterable[Any]):
        if callable(make) and not isinstance(make, Iterator):
            self._next: Callable[[int], Any] = make
        elif isinstance(make, Iterable):
            iterator = iter(make)
            self._next = lambda frames: next(iterator, None)
        else:
            raise TypeError(f"a generator source takes a function of frames or an iterable of arrays, "
                            f"got {type(make).__name__}")
        self._name = getattr(make, "__qualname__", type(make).__name__)
        self._buffer: np.ndarray | None = None
        self._ended = False

    def read(self, frames: int) -> np.ndarray:
        buffer = self._buffer if self._buffer is not None else np.zeros((0, self._channels), np.float32)
        while len(buffer) < frames and not self._ended:
            made = self._next(frames - len(buffer))
            if made is None or np.size(made) == 0:
                self._ended = True
                break
            buffer = np.concatenate([buffer, _as_frames(made, self._channels)])
        self._buffer = buffer[frames:]
        return buffer[:frames]

    def describe(self) -> str:
        return f"generator {self._name}"


class LiveSource(Source):
    """A source on a thread of its own, pushing into an :class:`InputRing`."""

    live = True
    #: The audio interface's round-trip latency in seconds, for audio stamped on arrival
    #: (None: the one ``lmk latency`` stored for :attr:`device`, else 0).
    latency: float | None = None
    #: The device whose stored latency applies (None: the default device).
    device: int | str | None = None

    def open(self, engine: Engine, ring: InputRing) -> None:
        """Start producing into ``ring`` (on the caller's thread)."""
        self._engine, self._ring = engine, ring

    def close(self) -> None:
        """Stop producing (idempotent)."""

    def _arrival(self) -> int:
        """The samples the engine's sink has taken: an arrival stamp (read on any thread)."""
        return self._engine.played


class PushSource(LiveSource):
    """Audio pushed from any one thread: :meth:`push` copies it into the engine's input ring.

    ``push(audio)`` stamps it on arrival (scsynth's bus, a line input read by code of
    your own: its ``latency`` aligns it); ``push(audio, sample=s)`` says which output
    sample the performer heard as they played its first frame (the browser's
    microphone, which knows).
    """

    def __init__(self, name: str = "push", *, channels: int = 2, latency: float | None = 0.0):
        if not isinstance(channels, int) or not 1 <= channels <= 64:
            raise ValueError(f"channels is a whole number from 1 to 64, got {channels!r}")
        self.name, self.channels, self.latency = name, channels, latency
        self._ring: InputRing | None = None
        self._columns: tuple[int, ...] = ()
        #: Frames pushed, and pushed while no engine listened.
        self.pushed = self.ignored = 0

    def open(self, engine: Engine, ring: InputRing) -> None:
        self._columns = _columns(self.channels, ring.channels)
        super().open(engine, ring)

    def close(self) -> None:
        self._ring = None

    def push(self, audio: Any, sample: int | None = None) -> bool:
        """Copy ``audio`` ((frames,) or (frames, channels), the engine's rate) to the engine.
        Returns False when it was not taken (not attached yet, or the ring was full)."""
        array = np.asarray(audio, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != self.channels:
            raise ValueError(f"this source takes (frames, {self.channels}) audio, got shape {array.shape}")
        if sample is not None and (isinstance(sample, bool) or not isinstance(sample, (int, np.integer))):
            raise ValueError(f"sample is a whole sample position, got {sample!r}")
        ring = self._ring
        if ring is None:
            self.ignored += len(array)
            return False
        self.pushed += len(array)
        if sample is None:
            return ring.write(array, self._arrival(), ARRIVED, self._columns)
        return ring.write(array, int(sample), STAMPED, self._columns)

    def describe(self) -> str:
        return f"{self.name} ({self.channels} ch)"


def input_devices() -> list[dict]:
    """The input devices PortAudio sees (index, name, host API, input channels)."""
    from .sinks import list_devices

    return [d for d in list_devices() if d["inputs"] > 0]


class InputDevice(LiveSource):
    """A microphone or line input (PortAudio through sounddevice), or any device PortAudio
    lists: ``InputDevice("SuperCollider", channels=(3, 4))`` reads scsynth's third and
    fourth outputs by JACK.

    ``channels`` are the device's input channels to use (1-based; default: the first
    one or two). ``latency`` is the round trip in seconds (default: what
    ``lmk latency`` stored for the device). The callback only copies into the ring.
    """

    def __init__(self, device: int | str | None = None, *, channels: Sequence[int] | None = None,
                 latency: float | None = None, blocksize: int = 0):
        if channels is not None and (not channels or not all(isinstance(c, int) and c >= 1 for c in channels)):
            raise ValueError(f"channels are the device's input channels, numbered from 1, got {channels!r}")
        self.device, self.channels, self.latency, self.blocksize = device, channels, latency, blocksize
        self._stream = None
        self._name = "default input" if device is None else str(device)

    def open(self, engine: Engine, ring: InputRing) -> None:
        from .sinks import import_sounddevice

        if not engine.running:
            raise InjectionError("a live input needs a streaming engine: start() it first (offline, inject a file "
                              "or an array)")
        sd = import_sounddevice()
        try:
            info = sd.query_devices(self.device, "input")
        except (ValueError, sd.PortAudioError) as error:
            names = ", ".join(f"{d['index']}: {d['name']}" for d in input_devices())
            raise InputDeviceError(f"no input device {self.device!r} ({error}); input devices: "
                                   f"{names or 'none, so there is no microphone or line input to read'}") from None
        self._name = info["name"]
        available = int(info["max_input_channels"])
        wanted = list(self.channels) if self.channels else list(range(1, min(available, ring.channels) + 1))
        if max(wanted) > available:
            raise InputDeviceError(f"{self._name!r} has {available} input channels; asked for {wanted}")
        columns = _columns(len(wanted), ring.channels, [c - 1 for c in wanted])
        super().open(engine, ring)
        arrival = self._arrival

        def callback(indata, frames, time, status):
            ring.write(indata, arrival(), ARRIVED, columns)  # copies into preallocated arrays only

        try:
            self._stream = sd.InputStream(samplerate=engine.sample_rate, channels=max(wanted), dtype="float32",
                                          device=self.device, blocksize=self.blocksize, latency="low",
                                          callback=callback)
            self._stream.start()
        except sd.PortAudioError as error:
            self._stream = None
            raise InputDeviceError(f"cannot open {self._name!r} for input at {engine.sample_rate} Hz: {error}; "
                                   f"pick another device (lmk devices)") from None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    def describe(self) -> str:
        chosen = f" channels {list(self.channels)}" if self.channels else ""
        return f"input {self._name}{chosen}"


def as_source(spec: Any, *, loop: bool = True, latency: float | None = None) -> Source:
    """A :class:`Source` from what :meth:`Engine.inject` accepts: a source, ``"mic"`` (the
    default input), ``"device:NAME"``, the path of an audio file, an array or
    :class:`AudioClip`, a function of frames, or an iterable of arrays."""
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, str) and spec == "mic":
        return InputDevice(None, latency=latency)
    if isinstance(spec, str) and spec.startswith("device:"):
        name = spec[len("device:"):]
        return InputDevice(int(name) if name.isdigit() else name, latency=latency)
    if isinstance(spec, (str, Path)):
        return FileSource(spec, loop=loop)
    if isinstance(spec, (np.ndarray, AudioClip)):
        return ArraySource(spec, loop=loop)
    if callable(spec) or isinstance(spec, Iterable):
        return GeneratorSource(spec)
    raise TypeError(f"cannot inject {type(spec).__name__}; give 'mic', 'device:NAME', an audio file's path, "
                    f"an array, a function of frames, an iterable of arrays, or a Source")


def ring_for(channels: int, sample_rate: int, seconds: float = 4.0) -> InputRing:
    """A ring holding ``seconds`` of input: the worker empties it every block."""
    return InputRing(channels, 1 << math.ceil(math.log2(seconds * sample_rate)))
