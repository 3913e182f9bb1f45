"""The tempo map: exact beats <-> samples."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livemusic_kernel.tempo import TempoMap, check_bpm, to_fraction


def test_floats_are_read_as_their_decimal_value():
    assert to_fraction(128.1) == Fraction(1281, 10)
    assert to_fraction("97.5") == Fraction(195, 2)
    with pytest.raises(ValueError, match="finite"):
        to_fraction(float("inf"))


def test_bpm_is_bounded():
    assert check_bpm(999) == 999
    for bad in (0, 0.5, 1000, -120):
        with pytest.raises(ValueError, match="between 1 and 999 BPM"):
            check_bpm(bad)


def test_beats_at_a_constant_tempo():
    tempo = TempoMap(120, 48000)
    assert tempo.sample_of(1) == 24000
    assert tempo.beat_at(36000) == Fraction(3, 2)
    assert TempoMap(130, 48000).sample_of(1) == 22154  # 22153.85 rounds up: heard on the next sample


@given(bpm=st.integers(20, 300), beat=st.fractions(0, 1000, max_denominator=64))
def test_a_beats_sample_is_the_first_at_or_after_its_exact_time(bpm, beat):
    tempo = TempoMap(bpm, 48000)
    sample = tempo.sample_of(beat)
    assert tempo.beat_at(sample) >= beat > tempo.beat_at(sample - 1) or sample == 0


def test_a_tempo_change_keeps_the_beat_continuous():
    tempo = TempoMap(120, 48000).with_tempo(60, 48000)
    assert tempo.beat_at(48000) == 2
    assert tempo.beat_at(96000) == 3
    assert tempo.sample_of(4) == 144000
    assert tempo.bpm_at(0) == 120 and tempo.bpm_at(48000) == 60


def test_a_tempo_change_rewrites_the_future():
    tempo = TempoMap(120, 48000).with_tempo(60, 96000).with_tempo(240, 48000)
    assert [float(s.bpm) for s in tempo.segments] == [120, 240]


def test_the_map_stays_short_over_a_long_session():
    tempo = TempoMap(120, 48000)
    for k in range(1, 500):
        tempo = tempo.with_tempo(100 + k % 50, k * 1000)
    assert len(tempo.segments) <= 64
    assert "BPM" in repr(tempo)
