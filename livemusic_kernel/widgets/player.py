"""The Player: the engine's output, played in the browser.

In a notebook on a remote machine (JupyterHub, a GPU box, a classroom server)
the browser is often the only speaker there is. The Player listens to the
audio the engine releases and sends it to the browser in binary comm messages
(16-bit PCM by default, or float32), where an AudioWorklet ring buffer plays it
at the engine's sample rate.

The kernel never waits for the browser, whose messages stall while a cell
runs: the engine's own sink paces the stream in real time (the sound card, or
the null sink with ``Engine(sink="null")`` when the browser is the only
speaker), and the browser keeps ``lead_ms`` of audio buffered against the
network's jitter. The browser reports its buffer fill and underruns when the
kernel can listen (:attr:`Player.browser`); if it reports that it has fallen
more than ``max_behind`` seconds behind, the kernel stops sending until it
catches up rather than queueing audio without end. If no browser has reported
for ``max_silence`` seconds (the tab was closed; a cell that long would also
do it), the kernel stops sending too, so a server never buffers audio for a
page that is gone; the next report starts the stream again.

Browsers start audio only from a user gesture, so the view's Listen button
starts it (:meth:`start` from code only opens the stream).

**The browser's microphone.** The view's mic button asks the browser for its
microphone and the Player's own AudioWorklet captures it, so the performer
plays along with exactly what this tab plays: each packet (40 ms) is stamped
with the engine sample the performer heard as they played its first frame
(the worklet knows which sample it is playing; the browser's base, output and
input latency are taken off), resampled to the engine's rate if the audio
context runs at another, and sent to the kernel as 16-bit PCM in a binary
request. The kernel injects it through a :class:`~livemusic_kernel.sources.PushSource`
named ``"browser-mic"`` (``engine.inject``): it reaches the model's context,
never the speakers. Input that arrives after its place in the context was
filled (a cell kept the kernel busy) is dropped by the injector and counted.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import traitlets

from ..engine import Engine
from ..errors import InjectionError
from ..injection import InjectionHandle
from ..sources import PushSource
from ._base import InstrumentWidget, decibels, frontend_file, frontend_source, integer, number, request, text
from ._tap import AudioTap

__all__ = ["Player", "ENCODINGS", "MIC_SOURCE"]

#: How audio travels to the browser (and the microphone's audio back): bytes per sample.
ENCODINGS = {"int16": 2, "float32": 4}
#: The name of the source the browser's microphone is injected through.
MIC_SOURCE = "browser-mic"
#: The largest microphone packet the kernel takes, in seconds (the view sends 40 ms).
MIC_PACKET_SECONDS = 1.0
#: The microphone gain's range (a level in the model's context, on top of ``inject_gain``).
MIC_GAIN_RANGE = (0.0, 4.0)


def encode(audio: np.ndarray, encoding: str) -> bytes:
    """Interleaved little-endian samples, as the browser decodes them."""
    if encoding == "int16":
        return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    return np.ascontiguousarray(audio, dtype="<f4").tobytes()


def decode(data: bytes, encoding: str, frames: int, channels: int) -> np.ndarray:
    """The inverse of :func:`encode`: float32 (frames, channels), checked against the header."""
    expected = frames * channels * ENCODINGS[encoding]
    if len(data) != expected:
        raise ValueError(f"the buffer holds {len(data)} bytes; {frames} frames of {channels} channels of "
                         f"{encoding} are {expected}")
    if encoding == "int16":
        audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32767.0)
    else:
        audio = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.isfinite(audio).all():
            raise ValueError("the microphone's audio holds NaN or infinite samples")
    return audio.reshape(frames, channels)


class Player(InstrumentWidget):
    """Plays the engine's output in the browser: press Listen in the view.

    ``encoding`` is ``"int16"`` (half the bandwidth: 192 kB/s at 48 kHz stereo)
    or ``"float32"``; ``lead_ms`` is the audio the browser keeps buffered
    (more is safer on a slow network, less is closer to the music).
    """

    _esm = frontend_file("player.js")
    _worklet = traitlets.Unicode(frontend_source("player-worklet.js")).tag(sync=True)

    sample_rate = traitlets.Int(48000).tag(sync=True)
    channels = traitlets.Int(2).tag(sync=True)
    encoding = traitlets.Enum(tuple(ENCODINGS), default_value="int16").tag(sync=True)
    lead_ms = traitlets.Float(250.0).tag(sync=True)
    #: True while the kernel sends audio to the browser.
    streaming = traitlets.Bool(False).tag(sync=True)
    #: The browser's newest report: frames received and played, underruns, buffer fill (ms), ...
    browser = traitlets.Dict().tag(sync=True)
    #: True while the kernel injects the browser's microphone (a view that has it sends it).
    mic = traitlets.Bool(False).tag(sync=True)
    #: The microphone's level in the model's context (on top of the engine's ``inject_gain``).
    mic_gain = traitlets.Float(1.0).tag(sync=True)
    #: What the kernel got from the microphone: frames, packets, refused packets, the newest packet's
    #: level (dBFS) and how far behind the kernel's output the performer's input arrived (lag_ms).
    mic_input = traitlets.Dict().tag(sync=True)

    def __init__(self, engine: Engine, *, encoding: str = "int16", lead_ms: float = 250.0,
                 max_behind: float = 10.0, max_silence: float = 300.0, **kwargs: Any):
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; choose one of: {', '.join(ENCODINGS)}")
        lead_ms = _check_lead(lead_ms)
        if not 1 <= max_behind <= 600:
            raise ValueError(f"max_behind is in seconds, from 1 to 600; got {max_behind}")
        if not 1 <= max_silence <= 86400:
            raise ValueError(f"max_silence is in seconds, from 1 to 86400; got {max_silence}")
        super().__init__(engine, sample_rate=engine.sample_rate, channels=engine.channels,
                         encoding=encoding, lead_ms=lead_ms, **kwargs)
        self.max_behind = float(max_behind)
        self.max_silence = float(max_silence)
        self._tap: AudioTap | None = None
        self._tap_lock = threading.Lock()
        self._sent = 0
        self._skipped = 0
        self._reported_at = 0.0
        self._mic: InjectionHandle | None = None
        self._mic_source: PushSource | None = None
        self._mic_counts = {"frames": 0, "packets": 0, "refused": 0, "full": 0}
        self._closers.append(self.stop)

    # -- the stream ----------------------------------------------------------------------------------
    @property
    def frames_sent(self) -> int:
        """Frames sent to the browser since the Player was made."""
        return self._sent

    @property
    def frames_skipped(self) -> int:
        """Frames not sent because the browser had fallen behind (or the tap dropped them)."""
        return self._skipped + (self._tap.dropped if self._tap else 0)

    def start(self) -> None:
        """Send the engine's audio to the browser (the view's Listen button does this)."""
        with self._tap_lock:
            if self._tap is None:
                self._reported_at = time.monotonic()  # the browser has max_silence to say it is there
                self._tap = AudioTap(self.engine, self._send_audio, period=0.04, name="lmk-player")
        self.streaming = True

    def stop(self) -> None:
        """Stop sending audio, and stop injecting the microphone (idempotent)."""
        self.stop_mic()
        with self._tap_lock:
            tap, self._tap = self._tap, None
        if tap is not None:
            tap.close()
            self._skipped += tap.dropped
        self.streaming = False

    def _send_audio(self, sample: int, audio: np.ndarray) -> None:
        """On the tap's thread: one binary message per piece of released audio."""
        if self._behind():
            self._skipped += len(audio)
            return
        sent = self._sent + len(audio)
        self.send({"type": "audio", "sample": int(sample), "frames": len(audio), "channels": audio.shape[1],
                   "encoding": self.encoding, "sent": sent}, buffers=[encode(audio, self.encoding)])
        # Counted once it is out: whoever sees frames_sent reach a count finds those frames sent.
        self._sent = sent

    def _behind(self) -> bool:
        """True when a recent report says the browser holds more than ``max_behind`` seconds unplayed,
        or when no browser has reported for ``max_silence`` seconds."""
        silence = time.monotonic() - self._reported_at
        if silence > self.max_silence:
            return True
        if silence > 3.0:
            return False  # no news (a cell is running): keep sending, the browser's ring bounds its latency
        backlog = self._sent - int(self.browser.get("received", 0))
        return backlog > self.max_behind * self.sample_rate

    # -- the browser's microphone --------------------------------------------------------------------
    @property
    def mic_handle(self) -> InjectionHandle | None:
        """The injection of the browser's microphone (``received``, ``dropped``, ``stop()``), or None."""
        return self._mic

    def start_mic(self, channels: int = 1) -> InjectionHandle:
        """Inject what the browser's microphone sends (the view's mic button calls this first)."""
        if self._mic is not None and not self._mic.finished:
            if self._mic_source.channels == channels:
                return self._mic
            self.stop_mic()
        source = PushSource(MIC_SOURCE, channels=channels, latency=0.0)  # stamped: no round trip to take off
        try:
            self._mic = self.engine.inject(source)
        except InjectionError as error:
            raise ValueError(str(error)) from None  # a refusal the view shows, not a kernel failure
        self._mic_source = source
        self.mic = True
        return self._mic

    def stop_mic(self) -> None:
        """Stop injecting the browser's microphone (idempotent)."""
        handle, self._mic, self._mic_source = self._mic, None, None
        if handle is not None:
            handle.stop()
        self.mic = False

    def _take_mic(self, sample: int, audio: np.ndarray) -> bool:
        source = self._mic_source
        if source is None or self._mic is None or self._mic.finished:
            raise ValueError("the microphone is off in the kernel: send mic_start first")
        if audio.shape[1] != source.channels:
            raise ValueError(f"the microphone was started with {source.channels} channel(s); "
                             f"this packet has {audio.shape[1]}")
        taken = source.push(audio * np.float32(self.mic_gain), sample=sample)
        counts = self._mic_counts
        counts["packets"] += 1
        counts["frames" if taken else "full"] += len(audio)
        peak = float(np.abs(audio).max()) if len(audio) else 0.0
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
        self.mic_input = {**counts, "peak_db": decibels(peak), "rms_db": decibels(rms), "last_sample": sample,
                          "lag_ms": round(1000 * (self.engine.played - sample) / self.sample_rate, 1)}
        return taken

    # -- requests from the browser -------------------------------------------------------------------
    @request("start")
    def _request_start(self, content: dict, buffers: list) -> dict:
        self.start()
        return {"sample_rate": self.sample_rate, "channels": self.channels, "running": self.engine.running}

    @request("stop")
    def _request_stop(self, content: dict, buffers: list) -> None:
        self.stop()

    @request("lead")
    def _request_lead(self, content: dict, buffers: list) -> None:
        self.lead_ms = number(content, "lead_ms", 20, 5000)

    @request("report")
    def _request_report(self, content: dict, buffers: list) -> None:
        big = 2**53
        report = {name: integer(content, name, 0, big) for name in ("received", "played", "underruns", "dropped")}
        report["fill_ms"] = round(number(content, "fill_ms", 0, 600_000), 1)
        report["output_ms"] = round(number(content, "output_ms", 0, 10_000, default=0.0), 1)
        report["context"] = text(content, "context", 80, default="AudioWorklet")
        self.browser = report
        self._reported_at = time.monotonic()

    @request("mic_start")
    def _request_mic_start(self, content: dict, buffers: list) -> dict:
        channels = integer(content, "channels", 1, 2, default=1)
        integer(content, "context_rate", 8000, 384000, default=self.sample_rate)  # checked; the worklet resamples
        handle = self.start_mic(channels)
        return {"sample_rate": self.sample_rate, "channels": channels, "source": handle.source.describe()}

    @request("mic_stop")
    def _request_mic_stop(self, content: dict, buffers: list) -> None:
        self.stop_mic()

    @request("mic_gain")
    def _request_mic_gain(self, content: dict, buffers: list) -> None:
        self.mic_gain = number(content, "gain", *MIC_GAIN_RANGE)

    @request("mic")
    def _request_mic(self, content: dict, buffers: list) -> dict:
        try:
            sample = integer(content, "sample", 0, 2**53)
            frames = integer(content, "frames", 1, int(MIC_PACKET_SECONDS * self.sample_rate))
            channels = integer(content, "channels", 1, 2)
            encoding = text(content, "encoding", 16, default="int16")
            if encoding not in ENCODINGS:
                raise ValueError(f"unknown encoding {encoding!r}; choose one of: {', '.join(ENCODINGS)}")
            if len(buffers) != 1:
                raise ValueError(f"a microphone packet carries its audio as one binary buffer, got {len(buffers)}")
            taken = self._take_mic(sample, decode(bytes(buffers[0]), encoding, frames, channels))
        except ValueError:
            self._mic_counts["refused"] += 1
            raise
        return {"taken": taken}



def _check_lead(lead_ms: float) -> float:
    if isinstance(lead_ms, bool) or not isinstance(lead_ms, (int, float)) or not 20 <= lead_ms <= 5000:
        raise ValueError(f"lead_ms is the browser's buffer in milliseconds, from 20 to 5000; got {lead_ms!r}")
    return float(lead_ms)
