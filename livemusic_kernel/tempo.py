"""The tempo map: exact conversion between sample positions and beats.

Beats are :class:`~fractions.Fraction` s so that a change scheduled on a beat
lands on the same sample every time, on every machine. Tempo is piecewise
constant: each change starts a new segment at a sample position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational, Real

__all__ = ["TempoMap", "Segment", "to_fraction", "MIN_BPM", "MAX_BPM"]

MIN_BPM = 1
MAX_BPM = 999


def to_fraction(value: Real | str) -> Fraction:
    """An exact fraction of a number: floats are read by their shortest decimal
    form, so ``128.1`` becomes ``1281/10`` and not a binary approximation."""
    if isinstance(value, Rational):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value}")
    return Fraction(repr(number))


def check_bpm(bpm: Real | str) -> Fraction:
    value = to_fraction(bpm)
    if not MIN_BPM <= value <= MAX_BPM:
        raise ValueError(f"tempo must be between {MIN_BPM} and {MAX_BPM} BPM, got {float(value):g}")
    return value


@dataclass(frozen=True)
class Segment:
    """From sample time ``start`` on, the tempo is ``bpm`` and rises by ``slope``
    BPM per sample (0 for a steady tempo); ``beat`` is the position at ``start``."""

    start: Fraction
    beat: Fraction
    bpm: Fraction
    slope: Fraction = Fraction(0)


class TempoMap:
    """Immutable map from samples to beats and back, with steady and ramped tempo.

    A ramp raises the tempo linearly in time, so the beat at any sample is a
    quadratic in exact rationals: beats stay exact even while the tempo moves.
    Only the inverse (the sample of a beat inside a ramp) needs a square root,
    and it is corrected against the exact forward map.
    """

    __slots__ = ("sample_rate", "_segments")

    def __init__(self, bpm: Real = 120, sample_rate: int = 48000, _segments: tuple[Segment, ...] = ()):
        self.sample_rate = int(sample_rate)
        self._segments = _segments or (Segment(Fraction(0), Fraction(0), check_bpm(bpm)),)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self._segments

    def _segment_at_sample(self, sample: Real) -> Segment:
        for segment in reversed(self._segments):
            if segment.start <= sample:
                return segment
        return self._segments[0]

    def _segment_at_beat(self, beat: Fraction) -> Segment:
        for segment in reversed(self._segments):
            if segment.beat <= beat:
                return segment
        return self._segments[0]

    def bpm_at(self, sample: Real) -> Fraction:
        segment = self._segment_at_sample(sample)
        return segment.bpm + segment.slope * (sample - segment.start)

    def ramping_at(self, sample: Real) -> bool:
        return self._segment_at_sample(sample).slope != 0

    def beat_at(self, sample: Real) -> Fraction:
        """The exact musical position of a (possibly fractional) sample time."""
        segment = self._segment_at_sample(sample)
        elapsed = sample - segment.start
        return segment.beat + (segment.bpm + segment.slope * elapsed / 2) * elapsed / (60 * self.sample_rate)

    def exact_sample_of(self, beat: Real) -> Fraction | float:
        """The sample time of a beat: exact in a steady tempo, a float inside a ramp."""
        beat = to_fraction(beat)
        segment = self._segment_at_beat(beat)
        work = (beat - segment.beat) * 60 * self.sample_rate  # BPM x samples
        if segment.slope == 0:
            return segment.start + work / segment.bpm
        # slope/2 d^2 + bpm d = work, in the form that stays accurate for tiny slopes.
        bpm, slope = float(segment.bpm), float(segment.slope)
        return float(segment.start) + 2 * float(work) / (bpm + math.sqrt(bpm * bpm + 2 * slope * float(work)))

    def sample_of(self, beat: Real) -> int:
        """The first sample at or after the beat's exact time: where it is heard."""
        beat = to_fraction(beat)
        sample = math.ceil(self.exact_sample_of(beat))
        # Inside a ramp the estimate is a float: settle it against the exact forward map.
        while sample > 0 and self.beat_at(sample - 1) >= beat:
            sample -= 1
        while self.beat_at(sample) < beat:
            sample += 1
        return sample

    def with_tempo(self, bpm: Real, at_sample: int, beat: Real | None = None) -> TempoMap:
        """A new map whose tempo becomes ``bpm`` from ``at_sample`` on.

        Later segments are dropped: a tempo change rewrites the future. With
        ``beat``, the musical position at ``at_sample`` is set too (a phase
        re-alignment, as when following a model's own beat).
        """
        position = self.beat_at(at_sample) if beat is None else to_fraction(beat)
        return self._with(Segment(Fraction(at_sample), position, check_bpm(bpm)))

    def with_ramp(self, bpm: Real, at_sample: int, beats: Real) -> TempoMap:
        """A new map whose tempo glides from its value at ``at_sample`` to ``bpm``
        over exactly ``beats`` beats, then holds."""
        bpm, beats = check_bpm(bpm), to_fraction(beats)
        if beats <= 0:
            raise ValueError(f"a tempo ramp lasts a positive number of beats, got {float(beats):g}")
        start, begin = Fraction(at_sample), self.bpm_at(at_sample)
        duration = 120 * beats * self.sample_rate / (begin + bpm)  # samples; the mean tempo covers `beats`
        first = self.beat_at(at_sample)
        ramp = Segment(start, first, begin, (bpm - begin) / duration)
        return self._with(ramp, Segment(start + duration, first + beats, bpm))

    def _with(self, *segments: Segment) -> TempoMap:
        kept = tuple(s for s in self._segments if s.start < segments[0].start)
        # Keep the map short: only the segments a later lookup can still need.
        return TempoMap(sample_rate=self.sample_rate, _segments=(kept + segments)[-64:])

    def __repr__(self) -> str:
        last = self._segments[-1]
        return f"<TempoMap {float(last.bpm):g} BPM since sample {float(last.start):g}, {len(self._segments)} segments>"
