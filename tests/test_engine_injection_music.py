"""Issue 7's Done-means, offline, with synthesized performers of known key and tempo
(figures: ``python benchmarks/injection.py``)."""

import numpy as np
import pytest

from livemusic_kernel._injection_bench import KEYS, input_in_key, looper_alignment, trial

#: The controls of the trials: a low guidance lets the prompt give way, the input louder than
#: the model's own output in what it hears.
SETTINGS = {"guidance": 0.5, "controls": {"inject_gain": 2.0, "feedback_gain": 0.25}}


#: Three seeds of the ten keys: thirty trials, as ``benchmarks/injection.py`` measures.
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def trials():
    return [trial(key, seed=seed, **SETTINGS) for seed in SEEDS for key in KEYS]


def test_the_output_follows_the_injected_key_more_often_than_without_it(trials):
    followed = sum(t.followed for t in trials)
    baseline = sum(t.baseline_followed for t in trials)
    assert followed >= baseline + 3, [(t.key, t.heard_key, t.baseline_key) for t in trials]


def test_the_output_is_in_the_injected_key_in_80_percent_of_trials(trials):
    # The output's key over the performer's four-bar progression after 20 s of input (trial()
    # says why four bars); issue 7 asks for 80%.
    assert sum(t.followed for t in trials) >= 0.8 * len(trials), [(t.key, t.heard_key) for t in trials]


def test_the_analysis_hears_the_performance_itself_in_its_key_over_the_window_it_judges():
    assert all(input_in_key(key) for key in KEYS)


def test_the_output_locks_to_the_input_rhythm_beyond_the_baseline(trials):
    for t in trials:
        assert t.onsets > t.baseline_onsets, t
    mean = np.mean([t.onsets for t in trials])
    assert mean > np.mean([t.baseline_onsets for t in trials]) + 0.2, mean


def test_the_output_never_contains_the_input(trials):
    for t in trials:
        assert t.containment < 0.15, t
        assert t.containment < t.leaked_containment, t  # less than the input 20 dB down would show


def test_looper_mode_lands_loop_boundaries_on_the_clock_within_one_sample():
    errors = looper_alignment(bpm=123.0, loop_beats=4, loops=4)   # 23414.6 samples a beat: not whole
    assert None not in errors and max(abs(e) for e in errors) <= 1, errors
    assert looper_alignment(bpm=120.0, loop_beats=8, loops=2) == [0, 0]
    assert np.all(np.abs(looper_alignment(bpm=97.0, loop_beats=3, loops=3)) <= 1)
