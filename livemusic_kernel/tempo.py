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
    """From sample ``start`` on, the tempo is ``bpm``; ``beat`` is the position at ``start``."""

    start: int
    beat: Fraction
    bpm: Fraction


class TempoMap:
    """Immutable map from samples to beats and back."""

    __slots__ = ("sample_rate", "_segments")

    def __init__(self, bpm: Real = 120, sample_rate: int = 48000, _segments: tuple[Segment, ...] = ()):
        self.sample_rate = int(sample_rate)
        self._segments = _segments or (Segment(0, Fraction(0), check_bpm(bpm)),)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self._segments

    def _segment_at_sample(self, sample: int) -> Segment:
        for segment in reversed(self._segments):
            if segment.start <= sample:
                return segment
        return self._segments[0]

    def _segment_at_beat(self, beat: Fraction) -> Segment:
        for segment in reversed(self._segments):
            if segment.beat <= beat:
                return segment
        return self._segments[0]

    def bpm_at(self, sample: int) -> Fraction:
        return self._segment_at_sample(sample).bpm

    def beat_at(self, sample: int) -> Fraction:
        """The exact musical position of a sample."""
        segment = self._segment_at_sample(sample)
        return segment.beat + (sample - segment.start) * segment.bpm / (60 * self.sample_rate)

    def exact_sample_of(self, beat: Real) -> Fraction:
        """The exact (fractional) sample time of a beat."""
        beat = to_fraction(beat)
        segment = self._segment_at_beat(beat)
        return segment.start + (beat - segment.beat) * 60 * self.sample_rate / segment.bpm

    def sample_of(self, beat: Real) -> int:
        """The first sample at or after the beat's exact time: where it is heard."""
        return math.ceil(self.exact_sample_of(beat))

    def with_tempo(self, bpm: Real, at_sample: int) -> TempoMap:
        """A new map whose tempo becomes ``bpm`` from ``at_sample`` on.

        Later segments are dropped: a tempo change rewrites the future.
        """
        bpm = check_bpm(bpm)
        kept = tuple(s for s in self._segments if s.start < at_sample)
        segment = Segment(at_sample, self.beat_at(at_sample), bpm)
        # Keep the map short: only the segments a later lookup can still need.
        return TempoMap(sample_rate=self.sample_rate, _segments=(kept + (segment,))[-64:])

    def __repr__(self) -> str:
        last = self._segments[-1]
        return f"<TempoMap {float(last.bpm):g} BPM since sample {last.start}, {len(self._segments)} segments>"
