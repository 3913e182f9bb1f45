"""Pitch: the chroma of a clip, its key and mode, and how rich its chords are.

The chroma comes from the long frames' semitone spectrum (E1 to C8). Each
frame is log-compressed against the clip's loudest frame, so quiet chord
tones count next to a loud bass, and only what stands above the spectrum's
local floor counts as pitched (drums and noise are broadband: they raise the
floor, not the peaks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

from ._spectra import LOWEST_NOTE, Spectra

#: Temperley's (Kostka-Payne) key profiles, tonic first. On I-IV-V-I and i-iv-V-i progressions
#: in all 24 keys they find every key, where Krumhansl-Kessler's took F minor for F major.
KEY_PROFILES = {
    "major": np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
    "minor": np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
}


@dataclass(frozen=True)
class Tonality:
    chroma: np.ndarray          # 12 pitch-class weights summing to 1 (C first)
    tonic: int
    mode: str
    key_strength: float         # correlation of the best key profile, -1..1
    #: Best major minus best minor profile correlation: above 0 sounds major.
    major_minus_minor: float
    #: Pitch classes sounding together, on average (1 a single line, 2 a power chord, 3 a triad...).
    pitch_classes: float


def _pitched(notes: np.ndarray) -> np.ndarray:
    """The semitone spectrum's peaks above its local floor, log-compressed (frames, notes)."""
    reference = float(notes.max()) + 1e-12
    log = np.log1p(100.0 * notes / reference)
    floor = uniform_filter1d(log, 7, axis=1, mode="nearest")
    return np.maximum(log - floor, 0.0)


def _fold(pitched: np.ndarray) -> np.ndarray:
    """Notes to pitch classes (frames, 12), C first."""
    classes = (LOWEST_NOTE + np.arange(pitched.shape[1])) % 12
    return pitched @ (classes[:, None] == np.arange(12)[None, :]).astype(float)


def key_of(chroma: np.ndarray) -> tuple[int, str, float, float]:
    """(tonic, mode, correlation of the best profile, best major minus best minor)."""
    if chroma.std() == 0:  # silence, or every pitch class alike: no key to hear
        return 0, "major", 0.0, 0.0
    scores = {}
    centred = chroma - chroma.mean()
    for mode, profile in KEY_PROFILES.items():
        rolled = np.stack([np.roll(profile, tonic) for tonic in range(12)])
        rolled = rolled - rolled.mean(axis=1, keepdims=True)
        scores[mode] = rolled @ centred / (np.linalg.norm(rolled, axis=1) * np.linalg.norm(centred))
    mode = "major" if scores["major"].max() >= scores["minor"].max() else "minor"
    tonic = int(np.argmax(scores[mode]))
    return tonic, mode, float(scores[mode][tonic]), float(scores["major"].max() - scores["minor"].max())


def _chord_notes(notes: np.ndarray) -> np.ndarray:
    """Pitch-class weights per frame (frames, 12) of the notes sounding from G2 (98 Hz) up:
    local maxima of the square-root spectrum above its median over an octave, so that each
    note counts once and the bass, a semitone's leakage and noise do not."""
    lowest = 43 - LOWEST_NOTE
    root = np.sqrt(notes[:, lowest:] / (notes.max() + 1e-20))
    floor = median_filter(root, size=(1, 13), mode="nearest")
    peak = np.zeros_like(root, dtype=bool)
    peak[:, 1:-1] = (root[:, 1:-1] >= root[:, :-2]) & (root[:, 1:-1] >= root[:, 2:])
    classes = (43 + np.arange(root.shape[1])) % 12
    return np.where(peak, np.maximum(root - floor, 0.0), 0.0) @ (classes[:, None] == np.arange(12)).astype(float)


def _tonal_share(s: Spectra) -> np.ndarray:
    """The harmonic share of the energy around each long frame (drums have no chords)."""
    harmonic, total = (s.harmonic ** 2).sum(axis=1), (s.mel ** 2).sum(axis=1) + 1e-20
    at = np.minimum(np.round(np.arange(len(s.notes)) * s.long_hop / s.hop).astype(int), len(total) - 1)
    width = max(1, int(round(s.long_hop / s.hop)))
    smooth = np.convolve(harmonic, np.ones(width), "same") / np.convolve(total, np.ones(width), "same")
    return smooth[at]


def _simultaneous(frames: np.ndarray, tonal: np.ndarray) -> float:
    """How many pitch classes sound together: the perplexity (exp of the entropy) of each
    frame's pitch classes, averaged with the frames' weights (their pitched energy times
    their harmonic share squared; frames under 5% of the heaviest ignored)."""
    pitched = frames.sum(axis=1)
    weight = pitched * tonal ** 2
    if weight.max(initial=0.0) <= 0:
        return 0.0
    keep = weight > 0.05 * weight.max()
    shares = frames[keep] / pitched[keep, None]
    entropy = -(shares * np.log(np.maximum(shares, 1e-12))).sum(axis=1)
    return float(np.exp(np.average(entropy, weights=weight[keep])))


def tonality(s: Spectra) -> Tonality:
    chroma = _fold(_pitched(s.notes)).sum(axis=0)
    chroma = chroma / chroma.sum() if chroma.sum() > 0 else np.full(12, 1 / 12)
    tonic, mode, strength, difference = key_of(chroma)
    return Tonality(chroma, tonic, mode, strength, difference, _simultaneous(_chord_notes(s.notes), _tonal_share(s)))
