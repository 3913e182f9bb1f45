"""The builtin model's style space: descriptors a listener can hear.

Modelled on the Lyria RT controls (the live music models paper, App. D:
brightness, density, key by chroma, tempo, stem balance) plus the feel,
timbre and production qualities a live coder asks for by name. Every
dimension is a number from 0 to 1 (see each one's ``doc`` for what 0 and 1
mean), so styles blend and interpolate as the papers' embeddings do, and an
audio analysis can measure each of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...style import StyleSpace

__all__ = ["Dimension", "DIMENSIONS", "BUILTIN_SPACE", "neutral_vector", "index", "PITCH_CLASSES",
           "TIMBRES", "STEMS", "bpm_to_tempo", "tempo_to_bpm"]

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
STEMS = ("drums", "bass", "harmony", "lead", "texture")
TIMBRES = ("piano", "electric_piano", "organ", "guitar_clean", "guitar_distorted", "plucked", "bowed",
           "brass", "woodwind", "reed", "voice", "mallet", "synth_lead", "synth_pad", "synth_bass",
           "acoustic_drums", "electronic_drums", "hand_percussion")


@dataclass(frozen=True)
class Dimension:
    name: str
    group: str
    neutral: float
    doc: str


_FEEL = [
    Dimension("tempo", "feel", 0.5, "preferred tempo: 0 = 60 BPM, 0.5 = 104 BPM, 1 = 180 BPM (log scale)"),
    Dimension("brightness", "feel", 0.5, "spectral centroid: 0 = dark and muffled, 1 = bright and airy"),
    Dimension("density", "feel", 0.5, "onsets per beat: 0 = sparse (a note a bar), 1 = busy (sixteenths)"),
    Dimension("energy", "feel", 0.5, "intensity and loudness: 0 = calm, 1 = driving"),
    Dimension("swing", "feel", 0.0, "timing of off-beats: 0 = straight, 1 = hard triplet swing"),
    Dimension("syncopation", "feel", 0.3, "accents off the beat: 0 = on the beat, 1 = heavily syncopated"),
    Dimension("space", "feel", 0.4, "reverb and room: 0 = dry and close, 1 = vast and washed"),
    Dimension("mode", "harmony", 0.5, "0 = minor, 1 = major (0.5: modal or undecided)"),
    Dimension("complexity", "harmony", 0.4, "harmony: 0 = one drone or power chords, 1 = extended jazz chords"),
    Dimension("grit", "production", 0.1, "distortion and saturation: 0 = clean, 1 = fuzz"),
    Dimension("lofi", "production", 0.0, "wear: 0 = pristine, 1 = tape hiss, vinyl crackle and narrow band"),
]
_KEY = [Dimension(f"key_{pc}", "key", 1 / 12,
                  f"weight of {pc} as the tonic (the chroma profile of the key; uniform = no key)")
        for pc in PITCH_CLASSES]
_STEMS = [Dimension(stem, "stem", 0.5, f"loudness of the {stem} layer: 0 = absent, 1 = up front")
          for stem in STEMS]
_TIMBRES = [Dimension(f"timbre_{t}", "timbre", 0.0,
                      f"how much the {t.replace('_', ' ')} family colours the sound (0 = not at all)")
            for t in TIMBRES]

DIMENSIONS: tuple[Dimension, ...] = tuple(_FEEL + _KEY + _STEMS + _TIMBRES)
BUILTIN_SPACE = StyleSpace("builtin/1", len(DIMENSIONS), tuple(d.name for d in DIMENSIONS))
_INDEX = {d.name: i for i, d in enumerate(DIMENSIONS)}


def index(name: str) -> int:
    """The position of a dimension; a ValueError lists the valid names."""
    try:
        return _INDEX[name]
    except KeyError:
        raise ValueError(f"unknown style dimension {name!r}; dimensions: {', '.join(_INDEX)}") from None


def neutral_vector() -> np.ndarray:
    return np.array([d.neutral for d in DIMENSIONS], dtype=np.float64)


def bpm_to_tempo(bpm: float) -> float:
    return float(np.clip(math.log(bpm / 60.0) / math.log(3.0), 0.0, 1.0))


def tempo_to_bpm(tempo: float) -> float:
    return 60.0 * 3.0 ** float(np.clip(tempo, 0.0, 1.0))


def markdown_table() -> str:
    """Every dimension as a Markdown table (docs/builtin-style-space.md is made from it)."""
    rows = ["| # | dimension | group | neutral | meaning |", "|---|---|---|---|---|"]
    rows += [f"| {i} | `{d.name}` | {d.group} | {d.neutral:.3g} | {d.doc} |" for i, d in enumerate(DIMENSIONS)]
    return "\n".join(rows)
