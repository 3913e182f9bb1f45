"""The audio interface's round-trip latency: measured once, stored, used to align injected input.

A performer plays along with what they hear; their sound reaches the engine's
input some time after the output sample they heard left the engine. That round
trip (output buffer, converter, air or cable, input converter, input buffer)
is what ``lmk latency`` measures: it plays an exponential sine sweep through the
sound card and records it at the same time (one duplex stream, as
``sounddevice.playrec`` opens it), then finds the sweep in the recording by
cross-correlation, to a fraction of a sample. A sweep (rather than a click)
spreads its energy over time and frequency, so the peak stands far above room
noise and survives a speaker and microphone that colour the sound.

The result is stored per device in ``latency.json`` in the user's configuration
folder (``$LMK_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/livemusic-kernel``, else
``~/.config/livemusic-kernel``). :class:`~livemusic_kernel.sources.InputDevice`
reads it: input that arrives when the engine's sink has taken sample ``s`` is
what the performer played while hearing sample ``s - round trip``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import LatencyError, PortAudioMissingError

__all__ = ["LatencyMeasurement", "log_sweep", "find_delay", "measure", "measure_device", "save_latency",
           "stored_latency", "config_dir"]

#: The sweep's band: wide enough for a sharp correlation peak, inside any speaker's range.
SWEEP_BAND = (100.0, 12000.0)
#: Silence before and after the sweep, in seconds: before, for the stream to settle; after, for
#: the round trip itself (anything longer than this is not measured).
LEAD_IN, TAIL = 0.25, 0.75


@dataclass(frozen=True)
class LatencyMeasurement:
    """One measurement: the round trip and how sure it is."""

    #: Input-to-output round trip in milliseconds (the median of the runs).
    round_trip_ms: float
    #: The same in samples (fractional).
    samples: float
    sample_rate: int
    #: Every run's round trip in milliseconds.
    runs: tuple[float, ...]
    #: The correlation peak over the median of the correlation's magnitude (the smallest over the
    #: runs): above about 20 the sweep was clearly heard.
    confidence: float
    device: str = "default"
    measured_at: str = ""

    def to_json(self) -> dict:
        return {**asdict(self), "runs": list(self.runs)}

    def __str__(self) -> str:
        spread = max(self.runs) - min(self.runs) if self.runs else 0.0
        return (f"round trip {self.round_trip_ms:.2f} ms ({self.samples:.1f} samples at {self.sample_rate} Hz) "
                f"on {self.device}; {len(self.runs)} runs within {spread:.2f} ms, confidence {self.confidence:.0f}")


def log_sweep(seconds: float, sample_rate: int, band: tuple[float, float] = SWEEP_BAND) -> np.ndarray:
    """An exponential sine sweep (Farina's), float32 mono, with 5 ms fades at both ends."""
    low, high = band
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    rate = np.log(high / low)
    sweep = np.sin(2 * np.pi * low * seconds / rate * (np.exp(t * rate / seconds) - 1.0))
    fade = min(len(t) // 2, int(0.005 * sample_rate))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    sweep[:fade] *= ramp
    sweep[len(sweep) - fade:] *= ramp[::-1]
    return (0.5 * sweep).astype(np.float32)


def find_delay(played: np.ndarray, recorded: np.ndarray) -> tuple[float, float]:
    """Where ``played`` starts in ``recorded``, in samples (fractional), and the peak's confidence."""
    from scipy.signal import correlate

    recorded = recorded.mean(axis=1) if recorded.ndim == 2 else recorded
    played = played.mean(axis=1) if played.ndim == 2 else played
    correlation = correlate(recorded.astype(np.float64), played.astype(np.float64), mode="full", method="fft")
    correlation = correlation[len(played) - 1:]  # non-negative lags only: the input never leads the output
    magnitude = np.abs(correlation)
    peak = int(np.argmax(magnitude))
    floor = float(np.median(magnitude)) + 1e-12
    offset = 0.0
    if 0 < peak < len(correlation) - 1:  # a parabola through the peak and its neighbours
        a, b, c = correlation[peak - 1], correlation[peak], correlation[peak + 1]
        bend = a - 2 * b + c
        if bend != 0:
            offset = float(np.clip(0.5 * (a - c) / bend, -0.5, 0.5))
    return peak + offset, float(magnitude[peak] / floor)


def measure(playrec: Callable[[np.ndarray], np.ndarray], sample_rate: int, *, seconds: float = 1.0,
            runs: int = 3, device: str = "default",
            progress: Callable[[int, int], None] | None = None) -> LatencyMeasurement:
    """Measure a duplex device's round trip: ``playrec(signal)`` plays the mono float32 signal and
    returns what was recorded meanwhile (as long as the signal, from the same first frame)."""
    if not 0.1 <= seconds <= 10:
        raise ValueError(f"the sweep lasts between 0.1 and 10 seconds, got {seconds:g}")
    if not 1 <= runs <= 20:
        raise ValueError(f"runs is a whole number from 1 to 20, got {runs!r}")
    sweep = log_sweep(seconds, sample_rate)
    lead = int(LEAD_IN * sample_rate)
    signal = np.concatenate([np.zeros(lead, np.float32), sweep, np.zeros(int(TAIL * sample_rate), np.float32)])
    delays, confidences = [], []
    for run in range(runs):
        recorded = np.asarray(playrec(signal), dtype=np.float32)
        if not len(recorded) or not np.abs(recorded).max() > 1e-4:
            raise LatencyError(f"the input heard nothing while the sweep played on {device}: connect the output to "
                               f"the input (a cable, or a microphone near the speaker) and raise the levels")
        delay, confidence = find_delay(sweep, recorded)
        delays.append(delay - lead)
        confidences.append(confidence)
        if progress is not None:
            progress(run + 1, runs)
    samples = float(np.median(delays))
    return LatencyMeasurement(round(1000 * samples / sample_rate, 3), round(samples, 2), sample_rate,
                              tuple(round(1000 * d / sample_rate, 3) for d in delays), round(min(confidences), 1),
                              device, time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def measure_device(device: int | str | None = None, *, sample_rate: int = 48000, seconds: float = 1.0,
                   runs: int = 3, progress: Callable[[int, int], None] | None = None) -> LatencyMeasurement:
    """Measure the round trip of a sound card (PortAudio's duplex stream, ``sounddevice.playrec``)."""
    from .sinks import import_sounddevice, list_devices

    try:
        sd = import_sounddevice()
    except PortAudioMissingError as error:
        raise LatencyError(str(error)) from None
    try:
        inputs = sd.query_devices(device, "input")
        outputs = sd.query_devices(device, "output")
    except (ValueError, sd.PortAudioError) as error:
        duplex = ", ".join(f"{d['index']}: {d['name']}" for d in list_devices() if d["inputs"] and d["outputs"])
        raise LatencyError(f"no sound card to measure: device {device!r} has no input and output ({error}); "
                           f"devices with both: {duplex or 'none'}. lmk latency plays a sweep and records it, "
                           f"so it needs an output connected to an input (see 'lmk devices')") from None
    name = inputs["name"] if inputs["name"] == outputs["name"] else f"{outputs['name']} -> {inputs['name']}"

    def playrec(signal: np.ndarray) -> np.ndarray:
        try:
            recorded = sd.playrec(signal, samplerate=sample_rate, channels=1, device=device, dtype="float32")
            sd.wait()
        except sd.PortAudioError as error:
            raise LatencyError(f"cannot play and record on {name} at {sample_rate} Hz: {error}") from None
        return recorded[:, 0]

    return measure(playrec, sample_rate, seconds=seconds, runs=runs, device=name, progress=progress)


def config_dir() -> Path:
    """Where livemusic-kernel keeps the user's settings (``latency.json``)."""
    if os.environ.get("LMK_CONFIG_DIR"):
        return Path(os.environ["LMK_CONFIG_DIR"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / "livemusic-kernel"


def _key(device: int | str | None) -> str:
    return "default" if device is None else str(device)


def _stored() -> dict:
    path = config_dir() / "latency.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise LatencyError(f"cannot read the stored latency {path}: {error}; measure it again with lmk latency "
                           f"(which rewrites it)") from None
    return data.get("devices", {}) if isinstance(data, dict) else {}


def save_latency(measurement: LatencyMeasurement, device: int | str | None = None) -> Path:
    """Store a measurement for ``device`` (None: the default device); returns the file."""
    folder = config_dir()
    path = folder / "latency.json"
    try:
        devices = _stored()
    except LatencyError:
        devices = {}  # an unreadable file is replaced
    devices[_key(device)] = measurement.to_json()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"devices": devices}, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise LatencyError(f"cannot store the latency in {path}: {error.strerror}; set LMK_CONFIG_DIR to a "
                           f"writable folder") from None
    return path


def stored_latency(device: int | str | None = None) -> float | None:
    """The stored round trip of ``device`` in seconds, or None when it was never measured."""
    entry = _stored().get(_key(device))
    if not isinstance(entry, dict) or not isinstance(entry.get("round_trip_ms"), (int, float)):
        return None
    return float(entry["round_trip_ms"]) / 1000.0
