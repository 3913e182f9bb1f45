"""Where the engine's audio goes while it plays live.

A sink owns the audio clock: it pulls frames from the engine's
:class:`Playhead` at its own pace, the way a sound card's callback does. Two
sinks ship here: :class:`SoundcardSink` (PortAudio through sounddevice) and
:class:`NullSink`, which keeps real-time pace without a sound card and still
counts underruns, for servers, installations and CI. (The WAV recorder is not
a sink: the worker feeds it every block it makes, so a recording never depends
on playback.)
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from ._ring import Ring
from .clock import Clock
from .errors import NoOutputDeviceError, PortAudioMissingError, SinkError

__all__ = ["Playhead", "Sink", "NullSink", "SoundcardSink", "open_sink", "SINKS",
           "import_sounddevice", "list_devices"]

#: The names ``Engine(sink=...)`` accepts.
SINKS = ("auto", "soundcard", "null")


class Playhead:
    """The reading end of the engine's ring, as a sink sees it.

    :meth:`pull` runs on the audio thread. It copies, counts underruns and
    notes when the block will be heard; it never blocks, locks or allocates
    arrays. The timing pair is published under a sequence counter (a seqlock)
    so the worker never reads a time from one callback with a position from
    another.
    """

    def __init__(self, ring: Ring):
        self.ring = ring
        self.underruns = 0
        self.underrun_frames = 0
        #: Underruns are only counted once the engine has primed the ring.
        self.counting = False
        self._timing = np.zeros(2)  # [time out[0] is heard, its sample position]
        self._seq = 0

    def pull(self, out: np.ndarray, heard_at: float) -> None:
        """Fill ``out`` with the next frames; ``heard_at`` is when ``out[0]`` reaches the ear."""
        position = self.ring.read
        got = self.ring.read_into(out)
        if got < len(out) and self.counting:
            self.underruns += 1
            self.underrun_frames += len(out) - got
        self._seq += 1
        self._timing[0] = heard_at
        self._timing[1] = position
        self._seq += 1

    def timing(self) -> tuple[float, int] | None:
        """``(time, sample)``: when the last pulled block's first sample is heard."""
        for _ in range(100):
            before = self._seq
            if before % 2 == 0:
                heard_at, position = self._timing[0], self._timing[1]
                if self._seq == before:
                    return (float(heard_at), int(position)) if before else None
        return None


class Sink(ABC):
    """An audio output that pulls from a :class:`Playhead` at its own pace."""

    name: str = "sink"

    @abstractmethod
    def open(self, playhead: Playhead, sample_rate: int, channels: int, clock: Clock) -> None:
        """Start pulling."""

    @abstractmethod
    def close(self) -> None:
        """Stop pulling. Idempotent."""

    def describe(self) -> str:
        return self.name


class NullSink(Sink):
    """Plays to nowhere in real time: a thread pulls ``period`` frames every
    period, as a sound card would, so underruns are real and counted."""

    name = "null"

    def __init__(self, period: int = 256):
        if period <= 0:
            raise ValueError(f"a sink period is a positive number of frames, got {period}")
        self.period = period
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def open(self, playhead, sample_rate, channels, clock):
        if not clock.live:
            raise SinkError("the null sink keeps real-time pace and needs a live clock")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(playhead, sample_rate, channels, clock),
            name="lmk-null-sink", daemon=True)
        self._thread.start()

    def _run(self, playhead: Playhead, sample_rate: int, channels: int, clock: Clock) -> None:
        buffer = np.zeros((self.period, channels), dtype=np.float32)
        step = self.period / sample_rate
        deadline = clock.now()
        while not self._stop.is_set():
            deadline += step
            delay = deadline - clock.now()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -0.5:
                deadline = clock.now()  # a stall this long is lost, as on a real device
            playhead.pull(buffer, deadline)

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def describe(self) -> str:
        return f"null sink (real-time pace, {self.period}-frame periods)"


def import_sounddevice():
    """The sounddevice module, or :class:`PortAudioMissingError` saying how to get PortAudio."""
    try:
        import sounddevice
    except OSError as error:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise PortAudioMissingError(str(error)) from None
    except ImportError:
        raise PortAudioMissingError("the sounddevice package is not installed; pip install sounddevice") from None
    return sounddevice


def list_devices() -> list[dict]:
    """The audio devices PortAudio sees, as dicts with index, name, host API and channel counts."""
    sd = import_sounddevice()
    hostapis = sd.query_hostapis()
    return [{"index": index, "name": device["name"], "hostapi": hostapis[device["hostapi"]]["name"],
             "inputs": device["max_input_channels"], "outputs": device["max_output_channels"],
             "default_samplerate": device["default_samplerate"]}
            for index, device in enumerate(sd.query_devices())]


class SoundcardSink(Sink):
    """The sound card, through PortAudio's callback API."""

    name = "soundcard"

    def __init__(self, device: int | str | None = None, period: int = 0, latency: str | float = "low"):
        self.device = device
        self.period = period  # 0 lets PortAudio choose the best period for the device
        self.latency = latency
        self._stream = None
        self._device_name = ""

    def open(self, playhead, sample_rate, channels, clock):
        sd = import_sounddevice()
        try:
            info = sd.query_devices(self.device, "output")
        except (ValueError, sd.PortAudioError) as error:
            outputs = ", ".join(d["name"] for d in list_devices() if d["outputs"] > 0)
            raise NoOutputDeviceError(
                f"no output device {self.device!r} ({error}); output devices: "
                f"{outputs or 'none, so there is no sound card to play to'}") from None
        self._device_name = info["name"]

        def callback(outdata, frames, time, status):
            # PortAudio's timestamps use the stream's clock: only the difference is ours to use.
            playhead.pull(outdata, clock.now() + (time.outputBufferDacTime - time.currentTime))

        try:
            self._stream = sd.OutputStream(samplerate=sample_rate, channels=channels, dtype="float32",
                                           device=self.device, blocksize=self.period,
                                           latency=self.latency, callback=callback)
            self._stream.start()
        except sd.PortAudioError as error:
            self._stream = None
            raise NoOutputDeviceError(f"cannot open {self._device_name!r} at {sample_rate} Hz, "
                                      f"{channels} channels: {error}") from None

    def close(self):
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def describe(self) -> str:
        return f"sound card {self._device_name!r}"


def open_sink(spec: str | Sink, device: int | str | None, playhead: Playhead, sample_rate: int,
              channels: int, clock: Clock, report: Callable[[str], None]) -> Sink:
    """Open the sink ``spec`` names. The sound card falls back to the null sink,
    with a message saying why, because the music must go on without one."""
    if isinstance(spec, Sink):
        spec.open(playhead, sample_rate, channels, clock)
        return spec
    if spec not in SINKS:
        raise ValueError(f"unknown sink {spec!r}; choose one of: {', '.join(SINKS)} or a Sink instance")
    if spec in ("auto", "soundcard"):
        sink = SoundcardSink(device)
        try:
            sink.open(playhead, sample_rate, channels, clock)
            return sink
        except SinkError as error:
            report(f"{error}; playing to the null sink instead")
    sink = NullSink()
    sink.open(playhead, sample_rate, channels, clock)
    return sink
