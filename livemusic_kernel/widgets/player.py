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
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import traitlets

from ..engine import Engine
from ._base import InstrumentWidget, frontend_file, frontend_source, integer, number, request, text
from ._tap import AudioTap

__all__ = ["Player", "ENCODINGS"]

#: How audio travels to the browser: bytes per sample.
ENCODINGS = {"int16": 2, "float32": 4}


def encode(audio: np.ndarray, encoding: str) -> bytes:
    """Interleaved little-endian samples, as the browser decodes them."""
    if encoding == "int16":
        return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    return np.ascontiguousarray(audio, dtype="<f4").tobytes()


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
        """Stop sending audio (idempotent)."""
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
        self._sent += len(audio)
        self.send({"type": "audio", "sample": int(sample), "frames": len(audio), "channels": audio.shape[1],
                   "encoding": self.encoding, "sent": self._sent}, buffers=[encode(audio, self.encoding)])

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


def _check_lead(lead_ms: float) -> float:
    if isinstance(lead_ms, bool) or not isinstance(lead_ms, (int, float)) or not 20 <= lead_ms <= 5000:
        raise ValueError(f"lead_ms is the browser's buffer in milliseconds, from 20 to 5000; got {lead_ms!r}")
    return float(lead_ms)
