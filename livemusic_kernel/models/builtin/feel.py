"""What a style means to the builtin model's composer and mixer: its :class:`Feel`.

A style is a point in the descriptor space (``space.py``); the feel is the
same information in the units the generator works in: a tempo in BPM, stem
gains, the instrument family that plays each layer, the drum kit, the key's
pitch-class profile. It is computed once per distinct style and cached, so
the generator's inner loop never reads the vector.

Which family plays which layer comes from the style's timbre weights and an
affinity table (a flute can lead but rarely plays bass; a synth pad holds the
harmony and the texture but never the lead), with a default line-up for
styles that name no instrument.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .space import DIMENSIONS, STEMS, TIMBRES, index, tempo_to_bpm

__all__ = ["Feel", "feel_of", "PITCHED_STEMS", "AFFINITY", "DEFAULT_FAMILY"]

PITCHED_STEMS = ("bass", "harmony", "lead", "texture")

#: How well each family plays each layer (0 = never). Rows are layers; columns follow TIMBRES.
AFFINITY: dict[str, dict[str, float]] = {
    "bass": {"synth_bass": 1.0, "plucked": 0.7, "guitar_clean": 0.5, "bowed": 0.55, "brass": 0.4,
             "organ": 0.45, "piano": 0.35, "electric_piano": 0.35, "reed": 0.3, "guitar_distorted": 0.45,
             "synth_pad": 0.2, "mallet": 0.25},
    "harmony": {"piano": 1.0, "electric_piano": 1.0, "organ": 1.0, "guitar_clean": 0.95, "guitar_distorted": 0.9,
                "synth_pad": 0.9, "bowed": 0.85, "reed": 0.85, "plucked": 0.8, "mallet": 0.7, "brass": 0.7,
                "voice": 0.75, "woodwind": 0.45, "synth_lead": 0.3},
    "lead": {"synth_lead": 1.0, "woodwind": 1.0, "brass": 0.95, "voice": 1.0, "guitar_distorted": 0.95,
             "reed": 0.95, "bowed": 0.9, "mallet": 0.9, "plucked": 0.85, "guitar_clean": 0.8, "piano": 0.7,
             "electric_piano": 0.65, "organ": 0.6, "synth_bass": 0.3},
    "texture": {"synth_pad": 1.0, "bowed": 0.8, "voice": 0.75, "organ": 0.5, "reed": 0.35, "mallet": 0.35,
                "electric_piano": 0.3, "woodwind": 0.3, "piano": 0.2, "guitar_clean": 0.25, "brass": 0.25},
}
#: The line-up of a style that names no instrument for a layer.
DEFAULT_FAMILY = {"bass": "plucked", "harmony": "piano", "lead": "mallet", "texture": "synth_pad"}
_DRUM_FAMILIES = ("electronic_drums", "acoustic_drums", "hand_percussion")
_KITS = ("electronic", "acoustic", "hand")


@dataclass(frozen=True)
class Feel:
    """A style in the generator's own units (see the module docstring)."""

    preferred_bpm: float
    brightness: float
    density: float
    energy: float
    swing: float
    syncopation: float
    space: float
    mode: float
    complexity: float
    grit: float
    lofi: float
    #: The style's key profile (12 weights, C first); uniform when the style names no key.
    chroma: tuple[float, ...]
    #: Loudness of each layer, 0..1, in STEMS order.
    stems: tuple[float, ...]
    #: The family playing each pitched layer and its share, strongest first (one or two).
    families: dict[str, tuple[tuple[str, float], ...]]
    #: Drum kit weights (electronic, acoustic, hand) summing to 1; and the kit in charge.
    kit_weights: tuple[float, float, float]
    #: How much hand percussion layers over a drum kit (0..1).
    hand_layer: float
    #: Whether the style named any instrument family at all (else the default line-up plays).
    named: bool

    @property
    def kit(self) -> str:
        return _KITS[int(np.argmax(self.kit_weights))]

    def stem(self, name: str) -> float:
        return self.stems[STEMS.index(name)]

    def family(self, stem: str) -> str:
        return self.families[stem][0][0]

    @property
    def has_key(self) -> bool:
        return max(self.chroma) - min(self.chroma) > 0.05

    def vector(self) -> np.ndarray:
        """The descriptors that pattern choices are scored against, as one array."""
        return np.array([self.brightness, self.density, self.energy, self.swing, self.syncopation,
                         self.space, self.complexity, self.grit])


@lru_cache(maxsize=512)
def _feel(values: tuple[float, ...]) -> Feel:
    v = np.clip(np.array(values), 0.0, 1.0)

    def get(name: str) -> float:
        return float(v[index(name)])

    timbre = {t: get(f"timbre_{t}") for t in TIMBRES}
    named = any(timbre[t] > 0.05 for t in TIMBRES)
    families = {stem: _choose_families(stem, timbre) for stem in PITCHED_STEMS}
    drums = np.array([timbre[f] for f in _DRUM_FAMILIES])
    if drums.sum() < 0.05:  # no kit named: electronic when it is driving or bright, else acoustic
        lean = 0.5 + 0.6 * (get("energy") - 0.5) + 0.4 * (get("grit") - 0.2)
        drums = np.array([lean, 1.0 - lean, 0.0]).clip(0.05, 1.0)
    hand_layer = float(timbre["hand_percussion"]) if drums[:2].max() > 0.2 else 0.0
    kit_weights = tuple(float(x) for x in drums / drums.sum())
    return Feel(
        preferred_bpm=tempo_to_bpm(get("tempo")), brightness=get("brightness"), density=get("density"),
        energy=get("energy"), swing=get("swing"), syncopation=get("syncopation"), space=get("space"),
        mode=get("mode"), complexity=get("complexity"), grit=get("grit"), lofi=get("lofi"),
        chroma=tuple(float(v[index(f"key_{pc}")]) for pc in ("C", "C#", "D", "D#", "E", "F", "F#", "G",
                                                               "G#", "A", "A#", "B")),
        stems=tuple(get(s) for s in STEMS), families=families, kit_weights=kit_weights,
        hand_layer=hand_layer, named=named)


def _choose_families(stem: str, timbre: dict[str, float]) -> tuple[tuple[str, float], ...]:
    affinity = AFFINITY[stem]
    scores = sorted(((timbre[f] * a, f) for f, a in affinity.items() if timbre[f] * a > 0.02), reverse=True)
    if not scores:
        return ((DEFAULT_FAMILY[stem], 1.0),)
    (s1, f1), rest = scores[0], scores[1:]
    if rest and stem in ("harmony", "texture") and rest[0][0] > 0.5 * s1:
        s2, f2 = rest[0]
        return ((f1, s1 / (s1 + s2)), (f2, s2 / (s1 + s2)))
    return ((f1, 1.0),)


def feel_of(vector: np.ndarray) -> Feel:
    """The feel of a style vector (cached: styles repeat while a piece plays)."""
    if len(vector) != len(DIMENSIONS):
        raise ValueError(f"a builtin style has {len(DIMENSIONS)} values, got {len(vector)}")
    return _feel(tuple(round(float(x), 4) for x in vector))
