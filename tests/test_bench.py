"""The benchmark helpers measure what they claim (figures themselves belong to benchmarks/)."""

import pytest

from livemusic_kernel import Engine
from livemusic_kernel.bench import CONFIGS, TempoPlan, landing_errors, measure_latency, schedule_landing_marks


@pytest.mark.parametrize("plan", [TempoPlan(97), TempoPlan(120, 150, 4, 8)], ids=["steady", "ramp"])
def test_landing_marks_are_found_exactly_and_a_wrong_plan_is_caught(plan):
    engine = Engine("click", sink=None, quiet=True, bpm=plan.bpm)
    marks = schedule_landing_marks(engine, plan, beats=20)
    audio = engine.render(plan.seconds_at(21) + 0.5)
    errors = landing_errors(audio, plan, marks)
    assert len(errors) == 40 and set(errors) == {0}
    wrong = TempoPlan(plan.bpm + 1, plan.ramp_to, plan.ramp_at, plan.ramp_beats)
    assert max(abs(e) for e in landing_errors(audio, wrong, marks)) > 1


def test_tempo_plans_agree_with_the_engines_tempo_map():
    plan = TempoPlan(100, 160, 4, 16)
    engine = Engine("click", sink=None, bpm=100)
    engine.set_bpm(160, at_beat=4, ramp_beats=16)
    engine.render(3.0)  # past beat 4, where the ramp is applied and enters the tempo map
    for beat in (0, 3.5, 4, 9.25, 20, 31):
        assert plan.seconds_at(beat) * 48000 == pytest.approx(float(engine.tempo.exact_sample_of(beat)), abs=1e-6)


def test_latency_configs_are_checked():
    assert "baseline-2s-chunks" in CONFIGS
    with pytest.raises(ValueError, match="choose one of: default, low, baseline-2s-chunks"):
        measure_latency("turbo", 1.0)
