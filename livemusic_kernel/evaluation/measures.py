"""The measurements behind the figures, each testable on signals with a known answer.

Tempo and key come from librosa (the ``eval`` extra), independent of the
builtin model's own analysis: its beat tracker with its defaults, and a
constant-Q chroma against Krumhansl and Kessler's key profiles (the builtin
model's analysis uses an STFT chroma and Temperley's profiles).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import MissingExtraError

__all__ = ["import_librosa", "spearman", "beat_tempo", "tempo_verdict", "detect_key", "key_verdict",
           "parse_key", "MusicalKey", "block_joins", "join_steps", "material", "halves", "material_distance",
           "view_distances", "VIEWS", "ANALYSIS_RATE", "PITCH_CLASSES"]

#: librosa's own default rate: its beat tracker and chroma are tuned for it.
ANALYSIS_RATE = 22050
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Krumhansl and Kessler's probe-tone ratings, tonic first (Krumhansl 1990).
KRUMHANSL_KESSLER = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def import_librosa():
    """librosa, or an error naming the extra that installs it."""
    try:
        import librosa
    except ImportError:
        raise MissingExtraError("lmk eval's tempo, key and variety measures", "eval", "librosa") from None
    return librosa


@contextmanager
def _quiet():
    """librosa warns about degenerate input (silence, no pitch); the measures answer for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _mono(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at the analysis rate."""
    from scipy.signal import resample_poly

    samples = np.asarray(audio, dtype=np.float64)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != ANALYSIS_RATE:
        g = math.gcd(rate, ANALYSIS_RATE)
        mono = resample_poly(mono, ANALYSIS_RATE // g, rate // g)
    return mono.astype(np.float32)


# -- trends --------------------------------------------------------------------------------------

def spearman(values) -> float:
    """Spearman's rank correlation of ``values`` with their order: 1 for a rising
    series, -1 for a falling one; ties share their mean rank, and a constant
    series (no trend at all) gives 0."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError(f"a trend needs at least 2 values, got {len(values)}")
    ranks = rankdata(values) - (len(values) + 1) / 2
    order = np.arange(len(values)) - (len(values) - 1) / 2
    spread = math.sqrt(float(ranks @ ranks) * float(order @ order))
    return float(ranks @ order / spread) if spread > 0 else 0.0


# -- tempo -----------------------------------------------------------------------------------------

def beat_tempo(audio: np.ndarray, rate: int = 48000) -> tuple[float, float]:
    """What librosa's beat tracker (``librosa.beat.beat_track``, its defaults, at
    librosa's default 22050 Hz) hears, in BPM: the rate of the beats it tracked
    (a least-squares line through their times; NaN with fewer than two), and its
    own tempo estimate.

    The beats' rate is the figure: the estimate comes from a tempogram whose
    lags are whole frames of 512 samples, so at 22050 Hz it can say 117.5 or
    123.0 BPM but never 120 (2.1 % off), while the tracked beats land on the
    onsets themselves.
    """
    librosa = import_librosa()
    with _quiet():
        estimate, beats = librosa.beat.beat_track(y=_mono(audio, rate), sr=ANALYSIS_RATE, units="time")
    estimate = float(np.atleast_1d(estimate)[0])
    if len(beats) < 2:
        return math.nan, estimate
    period = np.polyfit(np.arange(len(beats)), beats, 1)[0]
    return (60.0 / period if period > 0 else math.nan), estimate


def tempo_verdict(measured: float, bpm: float, tolerance: float = 0.02) -> str:
    """``"right"`` within ``tolerance`` (a share) of ``bpm``; ``"half"`` or ``"double"``
    within it of half or twice the tempo (octave errors); else ``"wrong"`` (NaN too)."""
    for verdict, factor in (("right", 1.0), ("half", 0.5), ("double", 2.0)):
        if abs(measured - factor * bpm) <= tolerance * factor * bpm:
            return verdict
    return "wrong"


# -- key -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MusicalKey:
    tonic: int   # pitch class, 0 = C
    mode: str    # "major" or "minor"

    def __str__(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.mode}"

    @property
    def relative(self) -> MusicalKey:
        """A minor's relative is C major; C major's is A minor."""
        if self.mode == "major":
            return MusicalKey((self.tonic + 9) % 12, "minor")
        return MusicalKey((self.tonic + 3) % 12, "major")


def parse_key(text: str) -> MusicalKey:
    """``"C# minor"`` -> MusicalKey(1, "minor")."""
    parts = text.split()
    if len(parts) != 2 or parts[0] not in PITCH_CLASSES or parts[1] not in KRUMHANSL_KESSLER:
        raise ValueError(f"a key is a pitch class and a mode, e.g. 'C# minor'; got {text!r} "
                         f"(pitch classes: {', '.join(PITCH_CLASSES)}; modes: major, minor)")
    return MusicalKey(PITCH_CLASSES.index(parts[0]), parts[1])


def detect_key(audio: np.ndarray, rate: int = 48000) -> tuple[MusicalKey | None, float]:
    """The key whose Krumhansl-Kessler profile correlates best with the mean
    constant-Q chroma (``librosa.feature.chroma_cqt``), and that correlation;
    ``(None, 0.0)`` where no pitch class stands out (silence)."""
    librosa = import_librosa()
    with _quiet():
        chroma = librosa.feature.chroma_cqt(y=_mono(audio, rate), sr=ANALYSIS_RATE).mean(axis=1)
    if not np.ptp(chroma) > 0:
        return None, 0.0
    best = (-2.0, MusicalKey(0, "major"))
    for mode, profile in KRUMHANSL_KESSLER.items():
        for tonic in range(12):
            r = float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, MusicalKey(tonic, mode))
    return best[1], best[0]


def key_verdict(found: MusicalKey | None, expected: MusicalKey) -> str:
    """``exact``, ``relative`` (the two count as right), or the usual confusions:
    ``parallel`` (same tonic, other mode), ``fifth`` (a fifth away, same mode),
    ``wrong``; ``none`` when no key was found."""
    if found is None:
        return "none"
    if found == expected:
        return "exact"
    if found == expected.relative:
        return "relative"
    if found.tonic == expected.tonic:
        return "parallel"
    if found.mode == expected.mode and (found.tonic - expected.tonic) % 12 in (5, 7):
        return "fifth"
    return "wrong"


# -- clicks at joins -------------------------------------------------------------------------------

def block_joins(frames: int, block_size: int) -> np.ndarray:
    """The joins between generation blocks: the multiples of ``block_size`` inside ``frames``."""
    return np.arange(block_size, frames, block_size)


def join_steps(audio: np.ndarray, joins) -> tuple[float, float]:
    """The largest sample step ``|x[n] - x[n-1]|`` (over channels) where ``n``
    is a join between generated pieces (see :func:`block_joins`), and the
    largest everywhere else. A click at a join makes the first larger."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    joins = np.unique(np.asarray(joins, dtype=np.int64))
    joins = joins[(joins > 0) & (joins < len(samples))]
    if not len(joins):
        raise ValueError(f"no join inside audio of {len(samples)} frames")
    steps = np.abs(np.diff(samples, axis=0)).max(axis=1)  # steps[n - 1] is the step into sample n
    at_joins = np.zeros(len(steps), dtype=bool)
    at_joins[joins - 1] = True
    elsewhere = steps[~at_joins]
    return float(steps[at_joins].max()), float(elsewhere.max()) if len(elsewhere) else 0.0


# -- variety: how different two pieces of material are -------------------------------------------

#: What :func:`material` measures, per sixteenth note.
VIEWS = ("timbre", "harmony", "rhythm")


def material(audio: np.ndarray, rate: int, bpm: float) -> dict[str, np.ndarray]:
    """What a listener follows, sixteenth note by sixteenth note (at ``bpm``, from
    the first sample), as ``(features, sixteenths)`` arrays: ``timbre`` is the
    loudness in 32 mel bands, ``harmony`` the 12 pitch classes (constant-Q
    chroma), ``rhythm`` the onset strength (the rise of that loudness).

    Loudness is mel power relative to a full-scale sine, to the power 0.3
    (Stevens' law, as sone scales do): the same scale for every render, where a
    part 60 dB down counts for little, as it does to a listener. The audio is
    analysed at a rate near 22050 Hz chosen so that a sixteenth note is an even
    number of 512-sample frames, and each sixteenth's cell is centred on its
    onset: every bar is cut the same way, and notes a few milliseconds early or
    late stay in their cell.
    """
    librosa = import_librosa()
    hop = 512
    sixteenth = 60.0 / bpm / 4
    frames_per_step = 2 * max(1, round(ANALYSIS_RATE * sixteenth / (2 * hop)))
    grid_rate = hop * frames_per_step / sixteenth
    samples = np.asarray(audio, dtype=np.float32)
    y = samples.mean(axis=1) if samples.ndim == 2 else samples
    full_scale = _full_scale_mel(grid_rate)
    with _quiet():
        y = librosa.resample(y, orig_sr=rate, target_sr=grid_rate)
        loudness = (librosa.feature.melspectrogram(y=y, sr=grid_rate, hop_length=hop, n_mels=32) / full_scale) ** 0.3
        chroma = librosa.feature.chroma_cqt(y=y, sr=grid_rate, hop_length=hop)
        onsets = librosa.onset.onset_strength(S=loudness, sr=grid_rate, hop_length=hop)[None, :]
    frames = min(loudness.shape[1], chroma.shape[1], onsets.shape[1])
    count = (frames + frames_per_step // 2) // frames_per_step  # whole cells only
    if count < 1:
        raise ValueError(f"{len(samples) / rate:.2f} s is shorter than a sixteenth note at {bpm:g} BPM")
    views = {}
    for name, feature in zip(VIEWS, (loudness, chroma, onsets), strict=True):
        # Half a cell before the first frame (the first onset's cell has no past: its edge repeats).
        centred = np.pad(feature[:, :frames], ((0, 0), (frames_per_step // 2, 0)), mode="edge")
        cells = centred[:, :count * frames_per_step]
        views[name] = cells.reshape(len(feature), count, frames_per_step).mean(axis=2)
    return views


@lru_cache(maxsize=4)
def _full_scale_mel(rate: float) -> float:
    """The mel power of a full-scale 997 Hz sine in its band: loudness 1 for :func:`material`."""
    librosa = import_librosa()
    t = np.arange(int(rate)) / rate
    return float(librosa.feature.melspectrogram(y=np.sin(2 * np.pi * 997.0 * t).astype(np.float32), sr=rate,
                                                hop_length=512, n_mels=32).max(axis=0).mean())


def halves(views: dict[str, np.ndarray], steps: int, start: int = 0) -> tuple[dict[str, np.ndarray], ...]:
    """From sixteenth ``start`` of :func:`material`: its next ``steps`` sixteenths, and the ``steps`` after."""
    have = min(grid.shape[1] for grid in views.values())
    if start + 2 * steps > have:
        raise ValueError(f"material of {have} sixteenths has no two halves of {steps} from sixteenth {start}")
    return tuple({name: grid[:, start + k * steps:start + (k + 1) * steps] for name, grid in views.items()}
                 for k in range(2))


def _distance(x: np.ndarray, y: np.ndarray) -> float:
    steps = min(x.shape[1], y.shape[1])
    x, y = x[:, :steps], y[:, :steps]
    centre = (x.mean(axis=1, keepdims=True) + y.mean(axis=1, keepdims=True)) / 2
    spread = float(np.sum((x - centre) ** 2) + np.sum((y - centre) ** 2))
    return math.sqrt(float(np.sum((x - y) ** 2)) / spread) if spread > 0 else 0.0


def view_distances(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """:func:`material_distance` view by view: ``{"timbre": ..., "harmony": ..., "rhythm": ...}``."""
    return {view: _distance(a[view], b[view]) for view in VIEWS}


def material_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """How different two pieces of :func:`material` are, 0 to 1.41: 0 when they
    are the same, about 1 for unrelated material, 1.41 for opposite.

    Per view, the distance between the two feature grids relative to how far
    both spread about their common mean, ``|a - b| / sqrt(|a - m|^2 + |b - m|^2)``
    (which is ``sqrt(1 - r)`` for ``r`` the share of their variation in common):
    it sees a different rhythm, a different chord or a different sound at the
    same place in the bar, and also a steady difference (a drone on another
    note). The three views (timbre, harmony, rhythm) count equally.
    """
    return float(np.mean(list(view_distances(a, b).values())))
