"""Audio into the builtin style space, by listening: music information retrieval.

Any audio (any sample rate, mono or stereo, any length) is measured for what
a listener hears, and nothing else (the generator leaves no hidden markers).
:func:`analyse` returns the raw measurements in their own units (BPM, Hz,
dB, shares of energy); :class:`AudioEmbedder` maps each onto its dimension
of the style space through :data:`MAPPINGS`, a table of calibrated ranges
set on music the builtin model did not make (General MIDI pieces rendered by
FluidSynth, ``tests/_midi.py``; see docs/builtin-analysis.md for every
mapping, its calibration and its measured accuracy).

The measurements, module by module:

==============  ===============================================================
``_spectra``    the views every measurement reads: short mel frames with a
                percussive/harmonic split, long semitone frames, stereo spectra
``_rhythm``     tempo (the tempo follower, its octave checked on the backbeat),
                the beat grid, onsets per beat, swing, syncopation
``_tonality``   chroma, key and mode (Temperley's profiles), chord richness
``loudness``    integrated loudness (ITU-R BS.1770, the package's own meter)
``_production`` brightness, room (decays and stereo diffuseness), distortion,
                wear (bandwidth and hiss floor)
``_stems``      the level of drums, bass, harmony and lead
==============  ===============================================================

The timbre families and the texture stem are not measured: they keep their neutral values, so an
audio prompt steers what it can and leaves the rest to the prompts it is
blended with. :attr:`AudioEmbedder.MEASURED` names the dimensions it sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from ...audio import AudioClip
from ...loudness import integrated_loudness
from ...style import Style
from ._production import production
from ._rhythm import rhythm
from ._spectra import spectra
from ._stems import stems
from ._tonality import KEY_PROFILES, tonality
from .space import BUILTIN_SPACE, PITCH_CLASSES, bpm_to_tempo, index, neutral_vector

__all__ = ["Analysis", "analyse", "AudioEmbedder", "KEY_PROFILES", "key_name", "Mapping", "MAPPINGS",
           "markdown_table"]

#: How a mapping places a measurement between its two ends.
SCALES = ("linear", "log")


def key_name(tonic: int, mode: str) -> str:
    return f"{PITCH_CLASSES[tonic]} {mode}"


@dataclass(frozen=True)
class Analysis:
    """What a piece of audio sounds like, measured in its own units."""

    seconds: float
    #: Tempo in BPM, or None when no steady beat was heard (or the clip is under 4 s).
    bpm: float | None
    tempo_confidence: float
    tonic: int
    mode: str
    #: Correlation of the best key profile with the chroma, -1..1.
    key_strength: float
    #: Best major minus best minor profile correlation: above 0 sounds major.
    major_minus_minor: float
    chroma: np.ndarray = field(repr=False)
    #: Pitch classes sounding together (1 a single line, 2 a power chord, 3 a triad, ...).
    pitch_classes: float
    centroid_hz: float
    onsets_per_second: float
    onsets_per_beat: float
    #: Where the off-beat eighth sits in the beat: 0.5 straight, 2/3 triplet swing.
    swing_ratio: float
    syncopation: float
    loudness_lufs: float
    #: The steepest decays of the clip in dB per second (slow: a big room).
    decay_db_per_second: float
    #: The share of stereo energy not coherent between the channels; None for mono.
    diffuse_share: float | None
    #: Spectral flatness of what lasts between 500 Hz and 4 kHz (distortion fills it in).
    flatness: float
    #: How much faster the level falls above 8 kHz than below, dB (a cut top end).
    cliff_db: float
    #: The quietest moments of the bands above 3 kHz against their loudest, dB (0: a hiss floor),
    #: lowered by up to 20 dB when those moments are partials rather than noise (held strings).
    floor_db: float
    #: Isolated clicks per second above 4 kHz (vinyl crackle).
    clicks_per_second: float
    percussive_share: float
    bass_share: float
    chord_share: float
    lead_share: float

    @property
    def key(self) -> str:
        return key_name(self.tonic, self.mode)


def _loudness(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS, -70 for silence; a clip shorter than one 400 ms block
    (or too slow a rate for K-weighting) is measured by its plain mean square."""
    try:
        value = integrated_loudness(audio, rate)
    except ValueError:
        value = -math.inf
    if value == -math.inf:
        power = float((audio ** 2).mean(axis=0).sum())
        value = -0.691 + 10 * math.log10(power) if power > 0 else -70.0
    return max(value, -70.0)


def analyse(clip: AudioClip) -> Analysis:
    """Measure a clip."""
    s = spectra(clip.samples, clip.sample_rate)
    r = rhythm(s, clip.samples)
    t = tonality(s)
    m = stems(s)
    return Analysis(
        seconds=s.seconds, bpm=r.bpm, tempo_confidence=r.confidence,
        tonic=t.tonic, mode=t.mode, key_strength=t.key_strength, major_minus_minor=t.major_minus_minor,
        chroma=t.chroma, pitch_classes=t.pitch_classes,
        onsets_per_second=r.onsets_per_second, onsets_per_beat=r.onsets_per_beat,
        swing_ratio=r.swing_ratio, syncopation=r.syncopation,
        loudness_lufs=_loudness(s.stereo if s.stereo is not None else s.mono[:, None], s.rate),
        **production(s),
        percussive_share=m.percussive_share, bass_share=m.bass_share, chord_share=m.chord_share,
        lead_share=m.lead_share,
    )


@dataclass(frozen=True)
class Mapping:
    """One dimension from measurements: the weighted mean of each measurement placed on
    0..1 between ``low`` (0) and ``high`` (1), linearly or on a log scale, clipped."""

    dimension: str
    #: (measurement, low, high, scale, weight) per measurement; scale is "linear" or "log".
    terms: tuple[tuple[str, float, float, str, float], ...]
    why: str
    #: (measurement, low, high): how far to trust the result, 0 at ``low`` to 1 at ``high``;
    #: the dimension moves from neutral towards the result by that much.
    trust: tuple[str, float, float] | None = None

    def __post_init__(self) -> None:
        index(self.dimension)  # a ValueError lists the dimensions
        names = [f.name for f in fields(Analysis)]
        measured = [t[0] for t in self.terms] + ([self.trust[0]] if self.trust else [])
        for name in measured:
            if name not in names:
                raise ValueError(f"{self.dimension}: measurement {name!r} is not one of {', '.join(names)}")
        for name, low, high, scale, _ in self.terms:
            if scale not in SCALES:
                raise ValueError(f"{self.dimension}: {name} has scale {scale!r}; scales: {', '.join(SCALES)}")
            if low == high or (scale == "log" and min(low, high) <= 0):
                raise ValueError(f"{self.dimension}: {name} needs two different ends (positive on a log "
                                 f"scale), got {low} and {high}")

    def __call__(self, a: Analysis) -> float:
        value = self._measure(a)
        if self.trust is None:
            return value
        name, low, high = self.trust
        trust = float(np.clip((getattr(a, name) - low) / (high - low), 0.0, 1.0))
        neutral = neutral_vector()[index(self.dimension)]
        return neutral + trust * (value - neutral)

    def _measure(self, a: Analysis) -> float:
        total = weights = 0.0
        for name, low, high, scale, weight in self.terms:
            value = getattr(a, name)
            if value is None:
                continue  # not measurable on this clip (stereo width of a mono clip)
            if scale == "log":
                value, low, high = (math.log(max(v, 1e-12)) for v in (value, low, high))
            total += weight * float(np.clip((value - low) / (high - low), 0.0, 1.0))
            weights += weight
        return total / weights if weights else neutral_vector()[index(self.dimension)]


def _m(dimension: str, why: str, *terms: tuple, trust: tuple[str, float, float] | None = None) -> Mapping:
    return Mapping(dimension, tuple(terms), why, trust)


#: Every mapping from measurements to a dimension (tempo, mode and key have their own rules in
#: :meth:`AudioEmbedder.vector`), calibrated on FluidSynth renders of General MIDI pieces
#: (docs/builtin-analysis.md has the figures behind each range).
MAPPINGS: tuple[Mapping, ...] = (
    _m("brightness", "a bass line's centroid sits near 300 Hz, a flute's near 1.5 kHz, a rock band's "
       "near 2.5 kHz and hard-clipped music near 3 kHz",
       ("centroid_hz", 250.0, 4000.0, "log", 1.0)),
    _m("density", "onsets per beat on a log scale, as the dimension is defined: a note a bar (1/4) is 0, "
       "sixteenths (4) are 1, eighths 0.75",
       ("onsets_per_beat", 0.25, 4.0, "log", 1.0)),
    _m("energy", "loudness, the percussive share and the onset rate together: at equal loudness a pad, a "
       "slow flute or a piano ballad reads 0.19-0.34, a pop band 0.69, a rock band 0.73, techno 0.87",
       ("loudness_lufs", -30.0, -10.0, "linear", 1.0), ("percussive_share", 0.002, 0.3, "log", 1.5),
       ("onsets_per_second", 0.5, 8.0, "log", 1.5)),
    _m("swing", "the off-beat eighth's place in the beat: straight (1/2) is 0, triplet swing (2/3) is 1",
       ("swing_ratio", 0.5, 2 / 3, "linear", 1.0)),
    _m("syncopation", "straight grooves score 0, an off-beat skank 0.21, a son clave 0.37, "
       "funk 0.59 (its kick and bass)",
       ("syncopation", 0.0, 0.4, "linear", 1.0)),
    _m("space", "dry mixes decay at 110 dB/s and more, a big reverb at 60 dB/s; a dry stereo mix of panned "
       "instruments is 30% incoherent, a washed one 90%",
       ("decay_db_per_second", 120.0, 50.0, "log", 1.0), ("diffuse_share", 0.3, 0.9, "linear", 1.0)),
    _m("complexity", "pitch classes sounding together: power chords read 2.5-4, triads 4-5, sevenths 4.5-5.5, "
       "ninths 5-6; drums have no chords, so a mostly percussive clip stays near neutral",
       ("pitch_classes", 2.5, 6.0, "linear", 1.0), trust=("percussive_share", 0.3, 0.1)),
    _m("grit", "clean guitars and keys read 0.001-0.01, distorted guitars 0.06-0.1, a hard-clipped mix 0.3",
       ("flatness", 0.01, 0.3, "log", 1.0)),
    _m("lofi", "a top end cut at 5 kHz leaves a 30 dB cliff, a hiss floor sits within 14 dB of the loudest "
       "moments (held strings and choirs -28 dB and below: their floor is partials, not noise), vinyl "
       "crackle clicks 20 times a second",
       ("cliff_db", 5.0, 30.0, "linear", 2.0), ("floor_db", -28.0, -14.0, "linear", 1.5),
       ("clicks_per_second", 1.0, 20.0, "log", 1.5)),
    _m("drums", "a drum kit alone is 46% percussive, a band with drums 7%, one without 0.2%, chords alone "
       "0.2-1.3% (a chord change is not a hit)",
       ("percussive_share", 0.002, 0.3, "log", 1.0)),
    _m("bass", "a bass line alone holds 22% of the energy below 200 Hz as sound that lasts 0.4 s, a band "
       "6%, a band without bass 0.6%, a drum kit alone 2% (a kick's boom dies sooner)",
       ("bass_share", 0.005, 0.3, "log", 1.0)),
    _m("harmony", "chord tones are 47% of the energy of chords alone, 12% of a band's, 6% without chords",
       ("chord_share", 0.02, 0.3, "log", 1.0)),
    _m("lead", "a melody alone outweighs its register by 70% of the energy, over a band by 36%; a band "
       "without one reads 22% (another part's top note)",
       ("lead_share", 0.05, 0.6, "linear", 1.0)),
)


def markdown_table() -> str:
    """Every mapping as a Markdown table (docs/builtin-analysis.md holds it; a test keeps them equal)."""
    rows = ["| dimension | measurement | 0 at | 1 at | scale | weight | calibration |", "|---|---|---|---|---|---|---|"]
    for mapping in MAPPINGS:
        for i, (name, low, high, scale, weight) in enumerate(mapping.terms):
            why = mapping.why if i == 0 else ""
            if i == 0 and mapping.trust:
                trusted, none, full = mapping.trust
                why += f" (trusted from {trusted} = {none:g} to {full:g}; neutral when untrusted)"
            rows.append(f"| {mapping.dimension if i == 0 else ''} | `{name}` | {low:.4g} | {high:.4g} | {scale} | "
                        f"{weight:g} | {why} |")
    return "\n".join(rows)


class AudioEmbedder:
    """Embeds audio into the builtin style space by :func:`analyse`."""

    #: The dimensions set from measurements; every other dimension stays neutral.
    MEASURED: tuple[str, ...] = ("tempo", "mode") + tuple(m.dimension for m in MAPPINGS) + tuple(
        f"key_{pc}" for pc in PITCH_CLASSES)

    def embed(self, clip: AudioClip) -> Style:
        return Style(self.vector(analyse(clip)), BUILTIN_SPACE, "audio")

    @staticmethod
    def vector(a: Analysis) -> np.ndarray:
        v = neutral_vector()
        if a.bpm is not None:
            v[index("tempo")] = bpm_to_tempo(a.bpm)
        for mapping in MAPPINGS:
            v[index(mapping.dimension)] = mapping(a)
        # A key as clear as the profile fit says: the tonic's weight rises from uniform (no key)
        # to all of it (strength 0.8 and above), and the mode leans with the major-minor margin.
        # Drums have no key: a mostly percussive clip keeps both near neutral.
        clarity = float(np.clip((a.key_strength - 0.4) / 0.4, 0.0, 1.0))
        clarity *= float(np.clip((0.3 - a.percussive_share) / 0.2, 0.0, 1.0))
        for pc, name in enumerate(PITCH_CLASSES):
            v[index(f"key_{name}")] = (1 - clarity) / 12 + (clarity if pc == a.tonic else 0.0)
        v[index("mode")] = float(np.clip(0.5 + clarity * a.major_minus_minor / 0.5, 0.0, 1.0))
        return v
