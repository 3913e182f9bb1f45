"""Keys, chords, progressions and voice leading of the builtin model."""

import numpy as np
import pytest

from livemusic_kernel.models.builtin.theory import (
    MODES,
    Key,
    chord_on,
    nearest_in,
    progression_weights,
    voice_chord,
)

C_MAJOR, A_MINOR = Key(0, "major"), Key(9, "minor")


def test_keys_spell_their_scales_and_pitches():
    assert C_MAJOR.pitch_classes() == {0, 2, 4, 5, 7, 9, 11}
    assert A_MINOR.pitch_classes() == C_MAJOR.pitch_classes() and A_MINOR.minor and not C_MAJOR.minor
    assert C_MAJOR.pitch(0, 60) == 60 and C_MAJOR.pitch(7, 60) == 72 and C_MAJOR.pitch(-1, 60) == 59
    assert A_MINOR.pitch(0, 60) == 69 and A_MINOR.pitch(2, 60) == 72  # the tonic at or above the base
    assert str(Key(10, "dorian")) == "Bb dorian" and set(MODES) >= {"major", "minor", "dorian", "mixolydian"}


def test_chords_are_stacked_thirds_with_sevenths_ninths_power_chords_and_a_raised_leading_tone():
    assert chord_on(C_MAJOR, 4, 4).tones == (7, 11, 2, 5)            # G7
    assert chord_on(C_MAJOR, 1, 3).tones == (2, 5, 9)                # D minor
    assert chord_on(C_MAJOR, 0, 5).tones == (0, 4, 7, 11, 2)         # Cmaj9
    assert chord_on(A_MINOR, 4, 3).tones == (4, 7, 11)               # E minor in natural minor ...
    assert chord_on(A_MINOR, 4, 3, leading_tone=True).tones == (4, 8, 11)  # ... E major at a cadence
    assert chord_on(C_MAJOR, 4, 3, leading_tone=True).tones == (7, 11, 2)  # a major key is unchanged
    assert chord_on(A_MINOR, 0, 3, power=True).tones == (9, 4)


def test_progressions_are_probabilities_that_complexity_spreads_over_more_chords():
    for minor in (False, True):
        plain, rich = progression_weights(minor, 0.0), progression_weights(minor, 1.0)
        for table in (plain, rich):
            assert table.shape == (7, 7) and np.allclose(table.sum(axis=1), 1.0) and (table >= 0).all()
        home = [0, 3, 4, 5] if not minor else [0, 3, 5, 6]   # the plain four chords ...
        colour = [1, 2, 6] if not minor else [1, 2, 4]       # ... and how often they lead elsewhere
        assert rich[np.ix_(home, colour)].sum() > 2 * plain[np.ix_(home, colour)].sum()
        assert np.trace(plain) > np.trace(rich)  # a simple style vamps on one chord more


def test_voicings_move_least_from_the_last_and_stay_in_range():
    c = voice_chord((0, 4, 7), (), 50, 74, 3)
    assert sorted(p % 12 for p in c) == [0, 4, 7] and all(50 <= p <= 74 for p in c)
    f = voice_chord((5, 9, 0), c, 50, 74, 3)  # C to F: the nearest inversion keeps the common tone C
    assert sorted(p % 12 for p in f) == [0, 5, 9]
    assert sum(abs(a - b) for a, b in zip(sorted(c), sorted(f), strict=True)) <= 5
    assert voice_chord((0, 7), (), 50, 74, 4)[:2] == voice_chord((0, 7), (), 50, 74, 4)[:2]  # doubled tones
    assert len(voice_chord((0, 7), (), 50, 74, 4)) == 4
    assert len(voice_chord((0, 4, 7, 11), (), 60, 62, 4)) == 4  # too narrow: stacked from the bottom


@pytest.mark.parametrize("pitch, allowed, expected", [(61, {0, 4, 7}, 60), (62, {0, 4, 7}, 60),
                                                       (63, {0, 4, 7}, 64), (65, set(), 65), (67, {7}, 67)])
def test_nearest_allowed_pitch(pitch, allowed, expected):
    assert nearest_in(pitch, frozenset(allowed)) == expected
