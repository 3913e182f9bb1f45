"""Clocks: time sources, and scheduling in beats and bars, live and offline."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import pytest
from conftest import first_difference, onsets

from livemusic_kernel import Engine, lerp, read_wav, render_session
from livemusic_kernel.bench import TempoPlan
from livemusic_kernel.clock import Clock, LiveClock, OfflineClock, parse_quant
from livemusic_kernel.models.click import ClickBackend

CLICK = ClickBackend()
LONG = CLICK.style_for(decay=0.2)  # sounds until just before the next beat: every change is audible


def styles(n: int) -> list:
    """n distinct styles (pitch and level both move, so a change shows on its first sample)."""
    return [CLICK.style_for(decay=0.2, pitch=50 + 3 * k, level=0.2 + 0.05 * k) for k in range(n)]


def offline(**options) -> Engine:
    engine = Engine("click", sink=None, quiet=True, **options)
    engine.set_style(LONG)
    return engine


# -- time sources --------------------------------------------------------------------

def test_the_offline_clock_moves_only_when_told():
    clock = OfflineClock(5.0)
    assert clock.now() == 5.0 and not clock.live and isinstance(clock, Clock)
    clock.sleep(1.5)
    clock.set(10.0)
    assert clock.now() == 10.0
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(9.0)


def test_the_live_clock_is_monotonic_and_sleeps():
    clock = LiveClock()
    before = clock.now()
    clock.sleep(0.01)
    assert clock.now() > before and clock.live
    with pytest.raises(ValueError, match="lookahead"):
        LiveClock(lookahead=0)


def test_a_clock_serves_one_engine():
    clock = OfflineClock()
    Engine("click", sink=None, clock=clock)
    with pytest.raises(ValueError, match="another engine"):
        Engine("click", sink=None, clock=clock)
    with pytest.raises(RuntimeError, match="not attached"):
        _ = OfflineClock().bpm


# -- quantisation --------------------------------------------------------------------

@pytest.mark.parametrize("quant, beats", [(4, 4), (0.5, Fraction(1, 2)), ("1/4", Fraction(1, 4)),
                                          ("1M", 3), ("2M", 6), ("2b", 2), (" 3 ", 3)])
def test_quants_are_beats_or_bars(quant, beats):
    assert parse_quant(quant, beats_per_bar=3) == beats


@pytest.mark.parametrize("bad", ["soon", "1X", "-1", 0, -2, "0M"])
def test_bad_quants_say_what_is_valid(bad):
    with pytest.raises(ValueError, match="quant"):
        parse_quant(bad, 4)


def test_next_beat_counts_from_the_horizon():
    engine = offline()
    clock = engine.clock
    assert clock.next_beat("1M") == 0
    engine.render(1.3)  # the horizon moves past beat 2 (at 120 BPM, 24000 samples a beat)
    assert clock.horizon == Fraction(engine.horizon, 24000)
    assert clock.next_beat("1M") == 4 and clock.next_beat(1) == 3 and clock.next_beat("1/4") == Fraction(11, 4)


# -- callbacks land their changes on the beat ------------------------------------------

def test_changes_from_callbacks_land_exactly_where_direct_beat_changes_do():
    """Through the clock or posted at_beat: the same audio, bit for bit."""
    palette = styles(8)
    direct, scheduled = offline(bpm=133), offline(bpm=133)
    for k in range(8):
        direct.set_style(palette[k], at_beat=Fraction(k * 3, 2) + 1)
    beats = iter(range(8))

    def change():
        scheduled.set_style(palette[next(beats)])  # no time given: it lands on the callback's beat
        return Fraction(3, 2)                        # and again one and a half beats later

    scheduled.clock.at(change, beat=1)
    a, b = direct.render(8.0), scheduled.render(8.0)
    assert first_difference(a, b) is None
    assert first_difference(a, offline(bpm=133).render(8.0)) == scheduled.tempo.sample_of(1)


def test_at_takes_bars_and_beats_and_works_as_a_decorator():
    engine = offline()
    engine.set_meter(3)
    seen = []

    @engine.clock.at(bar=2, beat=1)
    def late(beat):
        seen.append(beat)

    engine.clock.at(lambda: seen.append("first"), beat=0)
    engine.render(5.0)
    assert seen == ["first", Fraction(7)]
    with pytest.raises(ValueError, match="before the start"):
        engine.clock.at(late, beat=-1)


def test_every_repeats_from_the_next_quant_and_cancels():
    engine = offline()
    fired = []
    handle = engine.clock.every(2, lambda beat: fired.append(beat), quant="1M")
    engine.render(2.5)  # callbacks run as far ahead as the engine generates: here to beat 5.1
    handle.cancel()
    engine.render(3.0)
    assert fired == [0, 2, 4]
    assert engine.clock.pending == []


def test_cue_waits_for_the_next_bar():
    engine = offline()
    engine.render(0.7)  # past beat 1
    fired = []
    engine.clock.cue(lambda beat: fired.append(beat))
    engine.clock.cue(lambda beat: fired.append(beat), quant="1/2")
    engine.render(3.0)
    assert fired == [Fraction(3, 2), 4]


def test_a_cancelled_callback_never_runs():
    engine = offline()
    fired = []
    engine.clock.at(lambda: fired.append(1), beat=2).cancel()
    engine.render(2.0)
    assert fired == []


def test_a_raising_callback_is_reported_and_the_music_goes_on(capsys):
    engine = offline()
    calls = []

    def flaky(beat):
        calls.append(beat)
        if beat == 1:
            raise RuntimeError("typo in a live-coded line")

    engine.clock.every(1, flaky)
    audio = engine.render(2.0)
    assert calls == list(range(len(calls))) and len(calls) >= 4  # it kept going after beat 1
    assert np.abs(audio).max() > 0
    err = capsys.readouterr().err
    assert "callback flaky at beat 1: RuntimeError: typo in a live-coded line; the music goes on" in err
    assert engine.clock.errors == 1 and "typo" in engine.clock.last_error


def test_scheduling_something_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="function"):
        offline().clock.at(42, beat=1)


# -- patterns --------------------------------------------------------------------------

def test_a_sequence_steps_through_prompts_every_bar():
    engine = Engine("click", sink=None, quiet=True)
    engine.clock.sequence(["C4", "E4", "G4"], every="1M", slot="main")
    seen = []
    engine.clock.every("1M", lambda: seen.append(engine.slots["main"].prompt.text if "main" in engine.slots
                                                 else None), start=Fraction(1, 2))
    engine.render(8.5)  # 4+ bars at 120 BPM
    assert seen == ["C4", "E4", "G4", "C4", "E4"]


def test_a_sequence_passes_values_to_a_function_and_composes_with_morph():
    engine = offline()
    engine.set_prompt("air", "C6", weight=0.1)
    engine.clock.sequence([0.2, 0.9], every=2, to=lambda w: engine.ramp("weight:air", w, beats=1))
    engine.render(1.0)  # beats 0-2: the first ramp (to 0.2) has run its beat
    assert engine.slots["air"].weight == pytest.approx(0.2)
    engine.render(1.0)  # beats 2-4: the second, to 0.9
    assert engine.slots["air"].weight == pytest.approx(0.9)
    morphing = offline()
    morphing.clock.sequence(["C4", "C5"], every="1M", slot="main", morph=2)
    morphing.render(2.5)  # beat 5: the morph to C5 started on beat 4 and is halfway
    assert morphing.slots["main"].prompt.text == "C4"
    morphing.render(1.0)  # beat 7: done
    assert morphing.slots["main"].prompt.text == "C5"


def test_sequence_needs_values_and_one_destination():
    clock = offline().clock
    with pytest.raises(ValueError, match="at least one value"):
        clock.sequence([], slot="a")
    with pytest.raises(ValueError, match="slot= .* or to="):
        clock.sequence(["x"])


# -- tempo ramps ---------------------------------------------------------------------------

def test_clicks_follow_a_tempo_ramp_on_the_exact_samples():
    engine = Engine("click", sink=None, quiet=True, bpm=100)
    engine.set_bpm(160, at_beat=4, ramp_beats=16)
    audio = engine.render(16.0)
    found = list(onsets(audio))
    plan = TempoPlan(100, 160, 4, 16)  # a closed form, independent of TempoMap
    expected = [math.ceil(plan.seconds_at(k) * 48000 - 1e-6) for k in range(len(found))]
    assert np.max(np.abs(np.array(found) - np.array(expected))) <= 1
    assert found == [engine.tempo.sample_of(k) for k in range(len(found))]
    assert engine.bpm == 160 and engine.clock.bpm == 160


def test_a_tempo_ramp_replays_bit_identically(tmp_path):
    engine = Engine("click", sink=None, quiet=True, log=tmp_path / "s.jsonl")
    engine.set_bpm(90, ramp_beats=6, at_beat=2)
    engine.clock.set_tempo(140, at_beat=12, ramp_beats=Fraction(7, 2))
    original = engine.render(10.0)
    engine.close()
    render_session(tmp_path / "s.jsonl", tmp_path / "r.wav")
    assert np.array_equal(read_wav(tmp_path / "r.wav")[0], original)


# -- morphs and ramps ------------------------------------------------------------------------

def test_a_stepped_morph_holds_equal_plateaus_that_start_on_their_beats():
    """steps=4 over 8 beats: a, 2a/3+b/3, a/3+2b/3, b, each two beats, exactly as set_style at those beats."""
    a, b = LONG, CLICK.style_for(decay=0.2, pitch=81, level=0.3)
    morphing, reference = offline(), offline()
    morphing.morph(b, beats=8, steps=4, at_beat=2)
    for i in range(4):
        reference.set_style(lerp(a, b, i / 3), at_beat=2 + 2 * i)
    reference.set_style(b, at_beat=10)
    x, y = morphing.render(6.0), reference.render(6.0)
    assert first_difference(x, y) is None
    assert morphing.style == b and list(morphing.slots) == ["style"]


def test_a_continuous_morph_is_sampled_per_block_and_ends_on_the_target():
    a, b = LONG, CLICK.style_for(decay=0.2, pitch=81)
    engine = offline()
    engine.morph(b, beats=4, curve="cosine")
    engine.render(frames=48000 - 240)  # two beats: halfway through the morph
    pitch = engine.style.vector[0]
    assert a.vector[0] < pitch < b.vector[0]
    engine.render(2.0)
    assert engine.style == b and not engine._state.automations


def test_a_morph_to_prompts_ends_with_those_prompts_in_their_slots():
    engine = Engine("click", sink=None, quiet=True)
    engine.set_prompt("keep", "C4", weight=0.5)
    engine.morph({"new": ("C6", 0.5)}, beats=2, curve="exp", via="slerp")
    engine.render(2.0)
    assert {name: slot.weight for name, slot in engine.slots.items()} == {"keep": 0.5, "new": 0.5}
    assert engine.style.vector[0] == pytest.approx(72)  # the blend of C4 and C6
    single = Engine("click", sink=None, quiet=True)
    single.morph("C5", beats=1)
    single.render(1.0)
    assert list(single.slots) == ["main"] and single.style.vector[0] == 72


def test_numeric_ramps_move_controls_and_weights():
    engine = offline()
    engine.set_prompt("air", "C6", weight=0.0)
    engine.ramp("temperature", 2.0, beats=4)
    engine.ramp("weight:air", 1.0, beats=4, curve="step")  # one plateau per beat
    engine.ramp("top_k", 100, beats=2)
    engine.render(frames=48000 - 240)
    assert 1.1 < engine.controls.temperature < 2.0
    assert engine.slots["air"].weight in (1 / 3, 2 / 3)
    engine.render(2.0)
    assert engine.controls.temperature == 2.0 and engine.slots["air"].weight == 1.0
    assert engine.controls.top_k == 100 and isinstance(engine.controls.top_k, int)


def test_a_session_with_morphs_ramps_and_a_clock_replays_bit_identically(tmp_path):
    engine = Engine("click", sink=None, quiet=True, log=tmp_path / "s.jsonl")
    engine.set_style(LONG)
    engine.clock.sequence(["C4", "G4", "E5"], every="1M", slot="main", morph=3)
    engine.ramp("temperature", 1.4, beats=8, steps=4)
    engine.morph(CLICK.style_for(pitch=40, decay=0.1), beats=6, at_beat=20, steps=3)
    original = engine.render(14.0)
    engine.close()
    render_session(tmp_path / "s.jsonl", tmp_path / "r.wav")
    assert np.array_equal(read_wav(tmp_path / "r.wav")[0], original)


def test_bad_morphs_and_ramps_say_what_is_valid():
    engine = offline()
    with pytest.raises(ValueError, match="choose one of: linear, cosine, exp, step"):
        engine.morph(LONG, beats=4, curve="wobbly")
    with pytest.raises(ValueError, match="positive number of beats"):
        engine.morph(LONG, beats=0)
    with pytest.raises(ValueError, match="steps is a whole number"):
        engine.morph(LONG, beats=4, steps=0)
    with pytest.raises(ValueError, match="choose one of: lerp, slerp"):
        engine.morph(LONG, beats=4, via="spline")
    with pytest.raises(ValueError, match="choose one of: temperature, top_k, guidance, inject_gain, feedback_gain, "
                                         "input_gap, loop_beats, or 'weight:<slot>'"):
        engine.ramp("volume", 1.0, beats=4)
    with pytest.raises(KeyError, match="no prompt slot 'ghost'"):
        engine.ramp("weight:ghost", 1.0, beats=4)
    with pytest.raises(ValueError, match="temperature must be between"):
        engine.ramp("temperature", 99, beats=4)
    with pytest.raises(ValueError, match="ramp_beats is a positive number"):
        engine.set_bpm(100, ramp_beats=-2)


# -- live ----------------------------------------------------------------------------------------

def test_live_callbacks_land_on_the_same_samples_as_offline(tmp_path):
    """The live scheduler runs callbacks ahead of the horizon: the recording equals
    an offline render of the same schedule, bit for bit."""
    palette = styles(6)

    def schedule(engine):
        engine.set_style(LONG)
        counter = iter(range(10_000))
        engine.clock.every(Fraction(1, 2), lambda: engine.set_style(palette[next(counter) % 6]), start=2)

    live = Engine("click", sink="null", quiet=True, record=tmp_path / "live.wav")
    schedule(live)
    live.start()
    time.sleep(2.5)
    live.close()
    recorded, _ = read_wav(tmp_path / "live.wav")
    reference = Engine("click", sink=None, quiet=True)
    schedule(reference)
    expected = reference.render(frames=len(recorded))
    assert len(recorded) > 96000 and live.figures.late_events == 0
    assert first_difference(recorded, expected) is None
