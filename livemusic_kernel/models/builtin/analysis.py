"""Audio into the builtin style space, by listening: music information retrieval.

Any audio (any sample rate, mono or stereo, any length) is measured for what
a listener hears, and nothing else (the generator leaves no hidden markers):

============  ==================================================================
tempo         the tempo follower's estimate (``follow.py``), when it is confident
key, mode     a chroma profile (pitch classes of the spectrum, 55 Hz to 5 kHz)
              correlated with Temperley's major and minor key profiles
brightness    the spectral centroid, on a log scale from 300 Hz (0) to 5 kHz (1)
density       onsets per second, peak-picked from the onset envelope (8/s is 1)
energy        loudness (RMS in dBFS, -40 dB is 0 and -8 dB is 1)
drums         the percussive share of the spectrogram (median-filter separation)
bass          the share of energy below 150 Hz
harmony       the harmonic share above 150 Hz
============  ==================================================================

Dimensions that analysis cannot measure reliably (timbre families, swing,
lofi) keep their neutral values, so an audio prompt steers what it can and
leaves the rest to the other prompts it is blended with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...audio import AudioClip
from ...style import Style
from .space import BUILTIN_SPACE, PITCH_CLASSES, bpm_to_tempo, index, neutral_vector

__all__ = ["Analysis", "analyse", "AudioEmbedder", "KEY_PROFILES", "key_name"]

RATE = 22050  # analysis rate: enough for 5 kHz centroids and chroma, and half the work
_FFT, _HOP = 4096, 512

#: Temperley's (Kostka-Payne) key profiles, tonic first. On I-IV-V-I and i-iv-V-i progressions
#: in all 24 keys they find every key, where Krumhansl-Kessler's took F minor for F major.
KEY_PROFILES = {
    "major": np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
    "minor": np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
}


def key_name(tonic: int, mode: str) -> str:
    return f"{PITCH_CLASSES[tonic]} {mode}"


@dataclass(frozen=True)
class Analysis:
    """What a piece of audio sounds like, in listener's terms."""

    seconds: float
    bpm: float | None
    tempo_confidence: float
    tonic: int
    mode: str
    key_strength: float                   # correlation of the best key profile, -1..1
    chroma: np.ndarray = field(repr=False)
    centroid_hz: float
    onsets_per_second: float
    loudness_db: float
    percussive_share: float
    low_share: float

    @property
    def key(self) -> str:
        return key_name(self.tonic, self.mode)


def _prepare(clip: AudioClip) -> np.ndarray:
    mono = clip.mono().astype(np.float64)
    if clip.sample_rate != RATE:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(RATE, clip.sample_rate)
        mono = resample_poly(mono, RATE // g, clip.sample_rate // g)
    if len(mono) < _FFT:
        mono = np.pad(mono, (0, _FFT - len(mono)))
    return mono


def _spectrogram(mono: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(mono, _FFT)[::_HOP]
    return np.abs(np.fft.rfft(frames * np.hanning(_FFT), axis=1))  # (frames, bins)


def _chroma(power: np.ndarray) -> np.ndarray:
    freqs = np.fft.rfftfreq(_FFT, 1 / RATE)
    usable = (freqs >= 55) & (freqs <= 5000)
    pitch_class = np.round(12 * np.log2(freqs[usable] / 440.0) + 9).astype(int) % 12  # 0 = C
    # Log-compressed per frame so that loud low notes do not drown the harmony above them.
    energy = np.log1p(100 * power[:, usable] / (power[:, usable].max() + 1e-12)).sum(axis=0)
    chroma = np.bincount(pitch_class, weights=energy, minlength=12)
    return chroma / (chroma.sum() + 1e-12)


def _key(chroma: np.ndarray) -> tuple[int, str, float]:
    if chroma.std() == 0:  # silence, or noise flat across pitch classes: no key to hear
        return 0, "major", 0.0
    best = (-2.0, 0, "major")
    for mode, profile in KEY_PROFILES.items():
        for tonic in range(12):
            r = float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2], best[0]


def _percussive_share(magnitude: np.ndarray) -> float:
    """Median filtering across time keeps sustained (harmonic) energy; across
    frequency keeps broadband (percussive) energy."""
    from scipy.ndimage import median_filter

    harmonic = median_filter(magnitude, size=(17, 1))
    percussive = median_filter(magnitude, size=(1, 17))
    mask = percussive ** 2 / (harmonic ** 2 + percussive ** 2 + 1e-12)  # a soft Wiener mask
    return float((mask * magnitude ** 2).sum() / ((magnitude ** 2).sum() + 1e-12))


def _onsets_per_second(magnitude: np.ndarray, seconds: float) -> float:
    log = np.log1p(100 * magnitude)
    flux = np.maximum(np.diff(log, axis=0), 0).sum(axis=1)
    if len(flux) < 3 or flux.max() <= 0:
        return 0.0
    threshold = np.median(flux) + 0.5 * flux.std()
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
    return float(peaks.sum() / max(seconds, 1e-9))


def analyse(clip: AudioClip) -> Analysis:
    """Measure a clip."""
    from ...follow import TempoFollower

    mono = _prepare(clip)
    seconds = clip.seconds
    magnitude = _spectrogram(mono)
    power = magnitude ** 2
    chroma = _chroma(power)
    tonic, mode, strength = _key(chroma)
    freqs = np.fft.rfftfreq(_FFT, 1 / RATE)
    spectrum = power.sum(axis=0)
    centroid = float((freqs * spectrum).sum() / (spectrum.sum() + 1e-12))
    low = float(spectrum[freqs < 150].sum() / (spectrum.sum() + 1e-12))
    rms = float(np.sqrt(np.mean(mono ** 2)))
    bpm, confidence = None, 0.0
    if seconds >= 4.0:
        follower = TempoFollower(clip.sample_rate, window=min(max(seconds, 4.0), 30.0))
        follower.feed(clip.samples, 0)
        estimate = follower.estimate()
        if estimate is not None:
            bpm, confidence = estimate.bpm, estimate.confidence
    return Analysis(seconds, bpm, confidence, tonic, mode, strength, chroma, centroid,
                    _onsets_per_second(magnitude, seconds), 20 * math.log10(max(rms, 1e-9)),
                    _percussive_share(magnitude), low)


def _unit(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


class AudioEmbedder:
    """Embeds audio into the builtin style space by :func:`analyse`."""

    def embed(self, clip: AudioClip) -> Style:
        return Style(self.vector(analyse(clip)), BUILTIN_SPACE, "audio")

    @staticmethod
    def vector(a: Analysis) -> np.ndarray:
        v = neutral_vector()
        if a.bpm is not None and a.tempo_confidence >= 0.3:
            v[index("tempo")] = bpm_to_tempo(a.bpm)
        v[index("brightness")] = _unit(math.log(max(a.centroid_hz, 1.0)), math.log(300), math.log(5000))
        v[index("density")] = _unit(a.onsets_per_second, 0.0, 8.0)
        v[index("energy")] = _unit(a.loudness_db, -40.0, -8.0)
        v[index("drums")] = _unit(a.percussive_share, 0.05, 0.6)
        v[index("bass")] = _unit(a.low_share, 0.0, 0.5)
        v[index("harmony")] = _unit(1.0 - a.percussive_share - a.low_share, 0.1, 0.8)
        if a.key_strength >= 0.5:  # a clear key: its tonic, as the text embedding writes keys
            for pc, name in enumerate(PITCH_CLASSES):
                v[index(f"key_{name}")] = 1.0 if pc == a.tonic else 0.0
            v[index("mode")] = 1.0 if a.mode == "major" else 0.0
        return v
