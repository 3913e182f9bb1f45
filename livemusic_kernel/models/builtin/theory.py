"""The music theory the builtin model composes with: keys, scales, chords, progressions, voicing.

Pitches are MIDI numbers; pitch classes are 0 (C) to 11 (B). Melodies are
written in scale degrees (0 is the tonic, 7 the tonic an octave up, -1 the
leading note below it) and chords as degrees of the scale they are built on,
so a phrase written in one key plays in another unchanged: this is what lets a
key change land within a block, halfway through a bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["MODES", "Key", "Chord", "chord_on", "progression_weights", "voice_chord", "nearest_in"]

#: Scales as semitones above the tonic.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
_MINOR_FAMILY = ("minor", "dorian", "phrygian")


@dataclass(frozen=True)
class Key:
    tonic: int   # pitch class, 0 = C
    mode: str    # a name in MODES

    @property
    def minor(self) -> bool:
        return self.mode in _MINOR_FAMILY

    @property
    def scale(self) -> tuple[int, ...]:
        return MODES[self.mode]

    def pitch_class(self, degree: int) -> int:
        return (self.tonic + self.scale[degree % 7]) % 12

    def pitch(self, degree: int, octave_base: int) -> int:
        """The MIDI pitch of a scale degree, counted from the tonic at or above ``octave_base``."""
        tonic = octave_base + (self.tonic - octave_base) % 12
        return tonic + 12 * (degree // 7) + self.scale[degree % 7]

    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + s) % 12 for s in self.scale)

    def __str__(self) -> str:
        names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
        return f"{names[self.tonic]} {self.mode}"


@dataclass(frozen=True)
class Chord:
    """A chord as pitch classes, root first, then third, fifth, seventh, ninth ... (as stacked)."""

    root: int
    tones: tuple[int, ...]

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset(self.tones)


@lru_cache(maxsize=4096)
def chord_on(key: Key, degree: int, size: int = 3, *, power: bool = False,
             leading_tone: bool = False) -> Chord:
    """The chord built in thirds on a scale degree: ``size`` 3 is a triad, 4 a
    seventh chord, 5 adds the ninth. ``power`` gives root, fifth and octave
    (rock and metal); ``leading_tone`` raises the third of a minor key's fifth
    degree (harmonic minor's major V, for cadences)."""
    root = key.pitch_class(degree)
    if power:
        return Chord(root, (root, (root + 7) % 12))
    tones = [key.pitch_class(degree + 2 * i) for i in range(size)]
    if leading_tone and key.minor and degree % 7 == 4:
        tones[1] = (root + 4) % 12
    return Chord(root, tuple(tones))


#: Chord-to-chord transition weights by scale degree (0 = I/i ... 6 = vii/VII),
#: from common practice and popular music: the major table leans on I-IV-V-vi
#: and ii-V-I, the minor one on i-iv-v and the i-VI-VII / i-VII-VI loops.
_MAJOR_MOVES = np.array([
    # I    ii   iii  IV   V    vi   vii
    [0.10, 0.15, 0.05, 0.25, 0.25, 0.20, 0.00],   # from I
    [0.10, 0.05, 0.00, 0.10, 0.60, 0.05, 0.10],   # from ii
    [0.05, 0.10, 0.05, 0.30, 0.00, 0.50, 0.00],   # from iii
    [0.30, 0.15, 0.00, 0.05, 0.35, 0.15, 0.00],   # from IV
    [0.55, 0.00, 0.00, 0.10, 0.10, 0.25, 0.00],   # from V
    [0.05, 0.30, 0.10, 0.35, 0.20, 0.00, 0.00],   # from vi
    [0.70, 0.00, 0.30, 0.00, 0.00, 0.00, 0.00],   # from vii
])
_MINOR_MOVES = np.array([
    # i    ii   III  iv   v    VI   VII
    [0.05, 0.05, 0.10, 0.25, 0.15, 0.25, 0.15],   # from i
    [0.00, 0.00, 0.00, 0.00, 0.70, 0.00, 0.30],   # from ii
    [0.10, 0.00, 0.00, 0.30, 0.00, 0.35, 0.25],   # from III
    [0.25, 0.00, 0.00, 0.05, 0.30, 0.15, 0.25],   # from iv
    [0.55, 0.00, 0.00, 0.15, 0.00, 0.30, 0.00],   # from v
    [0.10, 0.00, 0.20, 0.25, 0.10, 0.00, 0.35],   # from VI
    [0.40, 0.00, 0.35, 0.00, 0.10, 0.15, 0.00],   # from VII
])
#: The degrees a plain song lives on (complexity scales the others in).
_PLAIN = {False: (0, 3, 4, 5), True: (0, 3, 5, 6)}


@lru_cache(maxsize=256)
def progression_weights(minor: bool, complexity: float) -> np.ndarray:
    """Transition probabilities (7x7, rows sum to 1) for a harmonic complexity
    from 0 (the tonic and its nearest chords, with vamps on one chord) to 1
    (every degree, and fewer repeats)."""
    moves = (_MINOR_MOVES if minor else _MAJOR_MOVES).copy()
    plain = _PLAIN[minor]
    colour = np.array([1.0 if d in plain else 0.05 + 1.6 * complexity for d in range(7)])
    moves *= colour[None, :]
    moves[np.arange(7), np.arange(7)] += 0.35 * (1.0 - complexity) ** 2  # vamps: stay on a chord
    moves += 1e-6
    return moves / moves.sum(axis=1, keepdims=True)


def nearest_in(pitch: int, allowed: frozenset[int]) -> int:
    """The pitch nearest ``pitch`` whose pitch class is allowed (ties go down)."""
    if not allowed or pitch % 12 in allowed:
        return pitch
    for distance in range(1, 7):
        if (pitch - distance) % 12 in allowed:
            return pitch - distance
        if (pitch + distance) % 12 in allowed:
            return pitch + distance
    return pitch


def voice_chord(tones: tuple[int, ...], previous: tuple[int, ...], low: int, high: int,
                count: int) -> tuple[int, ...]:
    """Pitches for a chord in ``[low, high]``: ``count`` notes taking the chord's
    tones in order (doubling the root when there are fewer tones than notes), in
    the inversion and octave that moves least from the ``previous`` voicing
    (good voice leading), or centred in the range when there is none."""
    tones = tuple(tones[:count]) if len(tones) >= count else tuple(tones) + tuple(
        tones[i % len(tones)] for i in range(count - len(tones)))
    centre = (low + high) // 2
    best, best_cost = None, None
    for rotation in range(len(tones)):
        order = tones[rotation:] + tones[:rotation]
        for base in range(low, high - 5):
            if base % 12 != order[0]:
                continue
            pitches = [base]
            for pc in order[1:]:
                nxt = pitches[-1] + 1 + (pc - pitches[-1] - 1) % 12
                pitches.append(nxt)
            if pitches[-1] > high:
                continue
            if previous:
                prev = sorted(previous)
                cost = sum(abs(a - b) for a, b in zip(sorted(pitches), _resize(prev, len(pitches)), strict=True))
            else:
                cost = abs(sum(pitches) / len(pitches) - centre)
            if best_cost is None or cost < best_cost:
                best, best_cost = tuple(pitches), cost
    if best is None:  # the range is too narrow for the chord: stack it from the bottom
        best = tuple(low + (pc - low) % 12 for pc in tones)
    return best


def _resize(values: list[int], count: int) -> list[int]:
    if len(values) >= count:
        return values[:count]
    return values + [values[-1] + 12 * (i + 1) for i in range(count - len(values))]
