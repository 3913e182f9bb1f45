"""The Scope: level meters and a scrolling spectrogram of what the engine plays.

The analysis runs in the kernel, on the Scope's own thread fed by an
:class:`~._tap.AudioTap`, so the Scope works without the Player and costs the
browser nothing but drawing. About ``fps`` times a second it sends one small
binary message: the peak and RMS level of each channel (dBFS) and one
spectrogram column of ``bands`` log-spaced bands, as bytes (0 = ``floor_db``,
255 = 0 dBFS). The newest columns are kept so a view that appears later (a
re-run cell, a second view) fills in at once.
"""

from __future__ import annotations

import collections
import math
import threading
from typing import Any

import numpy as np
import traitlets

from ..engine import Engine
from ._base import InstrumentWidget, frontend_file, request
from ._tap import AudioTap

__all__ = ["Scope", "Analyser"]

WINDOW = 4096  # frames per spectrum: 85 ms at 48 kHz, 12 Hz per bin


class Analyser:
    """Levels and log-spaced band energies of the newest audio."""

    def __init__(self, sample_rate: int, channels: int, bands: int = 64, low_hz: float = 30.0,
                 high_hz: float = 16000.0, floor_db: float = -90.0):
        high_hz = min(high_hz, sample_rate / 2 * 0.95)
        if not 0 < low_hz < high_hz:
            raise ValueError(f"the spectrogram needs 0 < low_hz < high_hz (below half the sample rate); "
                             f"got {low_hz} and {high_hz}")
        if not 8 <= bands <= 256:
            raise ValueError(f"bands is the spectrogram's rows, from 8 to 256; got {bands}")
        if not -200 <= floor_db < -20:
            raise ValueError(f"floor_db is the quietest level drawn, from -200 to -20 dBFS; got {floor_db}")
        self.sample_rate, self.channels, self.bands = sample_rate, channels, bands
        self.floor_db = floor_db
        self.edges = np.geomspace(low_hz, high_hz, bands + 1)
        self._window = np.hanning(WINDOW).astype(np.float32)
        # A full-scale sine's Hann-windowed peak bin has power (sum(window) / 2)^2: that is 0 dB.
        self._reference = (self._window.sum() / 2) ** 2
        bins = np.fft.rfftfreq(WINDOW, 1 / sample_rate)
        starts = np.searchsorted(bins, self.edges[:-1])
        stops = np.maximum(np.searchsorted(bins, self.edges[1:]), starts + 1)
        self._ranges = list(zip(starts.tolist(), stops.tolist(), strict=True))
        self._recent = np.zeros(WINDOW, dtype=np.float32)

    def feed(self, audio: np.ndarray) -> tuple[list[float], list[float], bytes]:
        """(peak dBFS per channel, RMS dBFS per channel, one spectrogram column) for ``audio``."""
        peak = [_db(float(np.max(np.abs(audio[:, c])))) for c in range(audio.shape[1])]
        rms = [_db(math.sqrt(float(np.mean(np.square(audio[:, c], dtype=np.float64))))) for c in range(audio.shape[1])]
        mono = audio.mean(axis=1)
        if len(mono) >= WINDOW:
            self._recent[:] = mono[-WINDOW:]
        else:
            self._recent = np.roll(self._recent, -len(mono))
            self._recent[-len(mono):] = mono
        power = np.abs(np.fft.rfft(self._recent * self._window)) ** 2
        energies = np.array([power[a:b].max() for a, b in self._ranges]) / self._reference
        with np.errstate(divide="ignore"):
            db = 10 * np.log10(np.maximum(energies, 1e-30))
        column = np.clip((db - self.floor_db) / -self.floor_db * 255, 0, 255).astype(np.uint8)
        return peak, rms, column.tobytes()


def _db(amplitude: float) -> float:
    return round(20 * math.log10(amplitude), 1) if amplitude > 1e-10 else -200.0


class Scope(InstrumentWidget):
    """Level meters and a scrolling spectrogram of the engine's output."""

    _esm = frontend_file("scope.js")

    bands = traitlets.Int(64).tag(sync=True)
    fps = traitlets.Float(20.0).tag(sync=True)
    floor_db = traitlets.Float(-90.0).tag(sync=True)
    low_hz = traitlets.Float(30.0).tag(sync=True)
    high_hz = traitlets.Float(16000.0).tag(sync=True)
    channels = traitlets.Int(2).tag(sync=True)

    def __init__(self, engine: Engine, *, bands: int = 64, fps: float = 20.0, low_hz: float = 30.0,
                 high_hz: float = 16000.0, floor_db: float = -90.0, history: int = 300, **kwargs: Any):
        if not 1 <= fps <= 60:
            raise ValueError(f"fps is the spectrogram columns a second, from 1 to 60; got {fps}")
        if not 1 <= history <= 10_000:
            raise ValueError(f"history is how many columns a new view gets, from 1 to 10000; got {history}")
        analyser = Analyser(engine.sample_rate, engine.channels, bands, low_hz, high_hz, floor_db)
        super().__init__(engine, bands=bands, fps=float(fps), floor_db=float(floor_db), low_hz=float(low_hz),
                         high_hz=float(analyser.edges[-1]), channels=engine.channels, **kwargs)
        self._analyser = analyser
        self._history: collections.deque[bytes] = collections.deque(maxlen=history)
        self._history_lock = threading.Lock()
        self._tap = AudioTap(engine, self._analyse, period=1 / fps, name="lmk-scope")
        self._closers.append(self._tap.close)

    def _analyse(self, sample: int, audio: np.ndarray) -> None:
        peak, rms, column = self._analyser.feed(audio)
        with self._history_lock:
            self._history.append(column)
        self.send({"type": "frame", "sample": int(sample), "peak": peak, "rms": rms}, buffers=[column])

    @property
    def columns(self) -> list[bytes]:
        """The newest spectrogram columns, oldest first (each ``bands`` bytes, low bands first)."""
        with self._history_lock:
            return list(self._history)

    @request("history")
    def _request_history(self, content: dict, buffers: list) -> dict:
        columns = self.columns
        self.send({"type": "history", "columns": len(columns)}, buffers=[b"".join(columns)])
        return {"columns": len(columns)}
