"""The engine: sample-accurate changes, replay, failures, joins, figures, errors."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest
from conftest import FlakyClick, SteppedDC, first_difference, onsets

from livemusic_kernel import (
    Engine,
    EngineError,
    NullSink,
    OfflineClock,
    Style,
    StyleSpace,
    StyleSpaceError,
    read_wav,
    render_session,
)
from livemusic_kernel.models.click import ClickBackend

RATE = 48000


def offline(**options) -> Engine:
    options.setdefault("quiet", True)
    return Engine("click", sink=None, **options)


# -- landing on the sample -----------------------------------------------------

LONG = ClickBackend().style_for(decay=0.2)  # a click that sounds until just before the next beat
OTHER = ClickBackend().style_for(decay=0.2, pitch=79, level=0.45)


@pytest.mark.parametrize("at", [1, 1919, 1920, 12345, 24000, 47998, 100_003])
def test_a_scheduled_change_lands_on_its_exact_sample(at):
    """Rendered with and without the change, the outputs first differ at its sample."""
    plain, changed = offline(), offline()
    for engine in (plain, changed):
        engine.set_style(LONG)
    # Pitch and level: on a beat every click starts at phase 0, so level shows the first sample.
    changed.set_style(OTHER, at_sample=at)
    a, b = plain.render(3.0), changed.render(3.0)
    assert first_difference(a, b) == at


@pytest.mark.parametrize("at", [1, 50, 700, 1920 * 2 + 3])
def test_a_pitch_change_mid_click_is_heard_on_its_exact_sample(at):
    plain, changed = offline(), offline()
    for engine in (plain, changed):
        engine.set_style(ClickBackend().style_for(decay=0.2))
    changed.set_style(ClickBackend().style_for(decay=0.2, pitch=75), at_sample=at)
    a, b = plain.render(0.5), changed.render(0.5)
    assert first_difference(a, b) == at
    assert np.abs(np.diff(b[max(at - 2, 0):at + 2, 0])).max() < 0.1  # and the phase runs on: no jump


@pytest.mark.parametrize("bpm", [60, 97.3, 120, 133, 174])
def test_clicks_fall_on_the_tempo_maps_beats(bpm):
    engine = offline(bpm=bpm)
    audio = engine.render(8.0)
    expected = [engine.tempo.sample_of(k) for k in range(int(8.0 * bpm / 60) + 1)]
    expected = [s for s in expected if s < len(audio)]
    assert list(onsets(audio)) == expected


def test_a_change_at_a_beat_lands_on_that_beats_sample():
    engine = offline(bpm=133)
    ref = offline(bpm=133)
    for e in (engine, ref):
        e.set_style(LONG)
    engine.set_style(OTHER, at_beat=Fraction(13, 2))
    at = engine.tempo.sample_of(Fraction(13, 2))
    assert first_difference(ref.render(5.0), engine.render(5.0)) == at


def test_a_tempo_change_moves_the_following_beats():
    engine = offline(bpm=120)
    engine.set_bpm(150, at_beat=4)
    audio = engine.render(6.0)
    # Beats 0..4 at 24000 samples each, then 19200 samples per beat.
    expected = [24000 * k for k in range(5)] + [96000 + 19200 * k for k in range(1, 10)]
    assert list(onsets(audio)) == [s for s in expected if s < len(audio)]


def test_beat_timed_changes_follow_an_earlier_tempo_change():
    """A change at beat 8 lands where beat 8 is under the new tempo, not the old one."""
    engine = offline(bpm=120)
    ref = offline(bpm=120)
    for e in (engine, ref):
        e.set_bpm(90, at_beat=2)
    engine.set_style(OTHER, at_beat=8)
    at = 48000 + 6 * 32000  # two beats at 120, then six at 90
    assert first_difference(ref.render(6.0), engine.render(6.0)) == at


def test_changes_at_the_same_sample_apply_in_posting_order():
    engine = offline()
    engine.set_prompt("main", "C4", at_sample=4800)
    engine.set_prompt("main", "C5", at_sample=4800)
    engine.render(0.2)
    assert engine.slots["main"].prompt.text == "C5"


def test_a_change_posted_for_the_past_lands_at_the_horizon_and_counts_as_late():
    engine = offline()
    engine.render(1.0)
    horizon = engine.horizon
    ref = offline()
    ref.render(1.0)
    engine.set_prompt("main", "C7", at_sample=100)
    assert first_difference(ref.render(1.0), engine.render(1.0)) == horizon - 48000
    assert engine.figures.late_events == 1


def test_a_cancelled_change_never_lands():
    engine = offline()
    handle = engine.set_prompt("main", "C7", at_sample=30000)
    handle.cancel()
    ref = offline()
    assert first_difference(ref.render(1.0), engine.render(1.0)) is None


def test_a_fixed_block_backend_lands_changes_on_the_next_block_boundary():
    engine = Engine(SteppedDC(), sink=None, quiet=True)
    engine.set_prompt("x", "anything", at_sample=1000)
    engine.render(frames=900)
    assert "x" not in engine.slots  # not yet: the first block boundary after 1000 is 1920
    engine.render(frames=2000)
    assert "x" in engine.slots


# -- wait(): one script, same samples live and offline -------------------------

def test_wait_moves_an_offline_scripts_now():
    engine = offline(bpm=120)
    engine.wait(beats=8)
    engine.set_style(OTHER)
    engine.wait(seconds=0.5)
    engine.set_prompt("main", "C3")
    assert engine.horizon == 8 * 24000 + 24000
    ref = offline(bpm=120)
    assert first_difference(ref.render(5.0), engine.render(5.0)) == 8 * 24000


def test_wait_in_beats_follows_a_scripted_tempo_change():
    engine = offline(bpm=120)
    engine.set_bpm(60)
    engine.wait(beats=2)
    assert engine.horizon == 2 * 48000


# -- replay ----------------------------------------------------------------------

def test_offline_session_log_replays_bit_identically(tmp_path):
    log = tmp_path / "s.jsonl"
    engine = offline(log=log, seed=3)
    engine.set_prompt("a", "C4")
    engine.set_prompt("b", "G4", weight=0.5, at_beat=3)
    engine.set(seed=11, at_sample=50000)
    engine.set_prompt("c", "noise", at_beat=5)
    engine.set_style(ClickBackend().style_for(pitch=50, noise=0.7), at_beat=7)
    engine.set_bpm(141, at_beat=9)
    engine.set_weight("style", 0.3, at_beat=10)
    original = engine.render(8.0)
    engine.close()
    frames, rate = render_session(log, tmp_path / "replay.wav")
    replayed, _ = read_wav(tmp_path / "replay.wav")
    assert (frames, rate) == (len(original), RATE)
    assert np.array_equal(original, replayed)


def test_live_session_replays_bit_identically(tmp_path):
    """Changes posted from another thread at arbitrary times while streaming
    live: the recording equals the offline replay of the log, sample for sample."""
    live = Engine("click", sink="null", record=tmp_path / "live.wav", log=tmp_path / "live.jsonl",
                  latency="low", quiet=True)
    live.set_prompt("main", "C4")
    live.start()
    rng = np.random.default_rng(5)
    for _ in range(25):
        time.sleep(float(rng.uniform(0.0, 0.08)))
        live.set_prompt("main", f"midi {int(rng.integers(40, 90))}", weight=float(rng.uniform(0.1, 1)))
        live.set(seed=int(rng.integers(0, 1000)))
        if rng.random() < 0.3:
            live.set_prompt("grit", ClickBackend().style_for(noise=0.5), at_beat=float(live.beat) + 1)
    live.close()
    render_session(tmp_path / "live.jsonl", tmp_path / "replay.wav")
    recorded, _ = read_wav(tmp_path / "live.wav")
    replayed, _ = read_wav(tmp_path / "replay.wav")
    assert len(recorded) > RATE
    assert np.array_equal(recorded, replayed)


# -- failures never stop the music ---------------------------------------------

def test_a_raising_backend_fades_out_streams_silence_and_recovers(capsys):
    backend = FlakyClick(fail_between=(48000, 96000))
    engine = Engine(backend, sink=None, bpm=240)  # a click every 12000 samples
    audio = engine.render(4.0)[:, 0]
    assert np.all(audio[48000:96000] == 0)                 # silence while failing
    assert np.any(audio[96000:108000] != 0)                # back on the next good block
    assert list(onsets(audio[:, None])[-4:]) == [144000, 156000, 168000, 180000]  # beats intact
    figures = engine.figures
    assert figures.errors == 25 and "boom" in figures.last_error
    err = capsys.readouterr().err
    assert err.count("raised at sample") == 1 and "recovered" in err


def test_a_failure_mid_sound_is_faded_not_cut():
    """Fail while a long click sounds: the output must not jump by more than a smooth fade allows."""
    backend = FlakyClick(fail_between=(1920 * 3, 1920 * 6))
    engine = Engine(backend, sink=None, quiet=True)
    engine.set_style(ClickBackend().style_for(decay=0.2, pitch=40))  # a long, low click
    audio = engine.render(1.0)[:, 0]
    steps = np.abs(np.diff(audio[1920 * 2:1920 * 8]))
    normal = np.abs(np.diff(Engine(ClickBackend(), sink=None, quiet=True).render(0.1)[:, 0])).max()
    assert steps.max() < 0.05 < normal  # a hard cut from 0.5 would step by ~0.3


@pytest.mark.parametrize("bad", ["nan", "shape"])
def test_bad_backend_output_is_treated_as_a_failure(bad):
    engine = Engine(FlakyClick(fail_between=(0, 1920 * 2), bad_output=bad), sink=None, quiet=True)
    audio = engine.render(0.5)
    assert np.isfinite(audio).all() and engine.figures.errors == 2
    assert ("NaN" in engine.figures.last_error) if bad == "nan" else ("shape" in engine.figures.last_error)


def test_a_change_that_fails_to_apply_is_reported_and_the_state_kept():
    """A weight for a slot cleared meanwhile (an OSC race, say) is reported, not fatal."""
    from livemusic_kernel.timeline import SetWeight

    engine = offline()
    engine.set_prompt("a", "C4")
    engine.clear_prompt("a", at_sample=1000)
    engine._post(SetWeight("a", 0.5), 2000, None)  # what a racing thread could post
    engine.render(0.5)
    assert "a" not in engine.slots
    assert any("could not apply set_weight" in m for m in engine.messages)


# -- joins -------------------------------------------------------------------------

def test_overlapping_blocks_are_crossfaded_click_free():
    """Every block of SteppedDC jumps by 1.0; the engine's crossfade smooths each join."""
    engine = Engine(SteppedDC(), sink=None, quiet=True)
    audio = engine.render(1.0)[:, 0]
    assert np.abs(np.diff(audio)).max() < 0.01
    assert audio.max() > 0.49 and audio.min() < -0.49  # it still plays both values


def test_split_blocks_give_the_same_audio_as_whole_blocks():
    """The click model is split-invariant: a change that changes nothing changes no sample."""
    plain, split = offline(), offline()
    for e in (plain, split):
        e.set_prompt("main", "C4")
    for at in (100, 777, 5000, 33333):
        split.set_prompt("main", "C4", at_sample=at)
    assert first_difference(plain.render(2.0), split.render(2.0)) is None


# -- live streaming --------------------------------------------------------------

def test_live_streaming_counts_figures_and_measures_latency():
    with Engine("click", sink="null", quiet=True) as engine:
        engine.set_prompt("main", "C4")
        engine.start()
        for pitch in range(60, 70):
            engine.set_prompt("main", f"midi {pitch}")
            time.sleep(0.05)
        time.sleep(0.3)
        engine.stop()
        figures = engine.figures
    assert figures.blocks > 10 and figures.played_s > 0.3
    assert figures.latency_ms.count == 10  # the first prompt, set before start(), is not timed
    assert 0 < figures.latency_ms.p50 < 10_000  # sanity only: timing belongs to benchmarks/
    assert "control latency" in str(figures)


def test_a_backend_slower_than_real_time_causes_counted_underruns():
    class Slow(ClickBackend):
        def step(self, state, request):
            time.sleep(2 * request.frames / RATE)
            return super().step(state, request)

    with Engine(Slow(), sink="null", latency="low", quiet=True) as engine:
        engine.start()
        time.sleep(0.5)
        engine.stop()
        figures = engine.figures
    assert figures.underruns > 0 and figures.underrun_ms > 0
    assert figures.realtime_factor > 1


def test_an_engine_restarts_with_absolute_positions():
    with Engine("click", sink="null", quiet=True) as engine:
        engine.start()
        time.sleep(0.2)
        engine.stop()
        played = engine.played
        engine.start()
        time.sleep(0.2)
        engine.stop()
        assert engine.played > played


def test_control_methods_are_safe_from_many_threads():
    with Engine("click", sink="null", quiet=True) as engine:
        engine.start()

        def hammer(index):
            for i in range(50):
                engine.set_prompt(f"s{index}", f"midi {50 + i % 30}", weight=0.5)

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.3)
        engine.stop()
        assert set(engine.slots) == {"s0", "s1", "s2", "s3"}
        assert engine.figures.events == 200


# -- bad input ----------------------------------------------------------------------

def test_errors_name_the_problem_and_the_choices():
    with pytest.raises(ValueError, match="choose one of: default, low"):
        Engine("click", sink=None, latency="fast")
    with pytest.raises(ValueError, match="choose one of: auto, soundcard, null"):
        Engine("click", sink="speakers")
    with pytest.raises(ValueError, match="unknown backend 'nope'; choose one of: builtin, click"):
        Engine("nope")
    with pytest.raises(ValueError, match="between 1 and 999 BPM"):
        Engine("click", sink=None, bpm=0)
    with pytest.raises(ValueError, match="fixed blocks of 960"):
        Engine(SteppedDC(), sink=None, block_size=480)
    with pytest.raises(ValueError, match="lead"):
        Engine("click", sink=None, lead=0)
    with pytest.raises(ValueError, match="beats_per_bar"):
        Engine("click", sink=None, beats_per_bar=0)
    engine = offline()
    with pytest.raises(ValueError, match="choose from: temperature, top_k, guidance, seed"):
        engine.set(warmth=3)
    with pytest.raises(ValueError, match="top_k must be a whole number"):
        engine.set(top_k=2.5)
    with pytest.raises(ValueError, match="temperature must be between"):
        engine.set(temperature=float("nan"))
    with pytest.raises(ValueError, match="needs at least one"):
        engine.set()
    with pytest.raises(ValueError, match="not both"):
        engine.set_prompt("a", "C4", at_sample=1, at_beat=1)
    with pytest.raises(ValueError, match="at_sample"):
        engine.set_prompt("a", "C4", at_sample=-5)
    with pytest.raises(ValueError, match="at_beat"):
        engine.set_prompt("a", "C4", at_beat=-1)
    with pytest.raises(ValueError, match="slot name"):
        engine.set_prompt("", "C4")
    with pytest.raises(ValueError, match="weight"):
        engine.set_prompt("a", "C4", weight=-1)
    with pytest.raises(KeyError, match="no prompt slot 'ghost'"):
        engine.set_weight("ghost", 0.5)
    with pytest.raises(KeyError, match="no prompt slot 'ghost'"):
        engine.clear_prompt("ghost")
    with pytest.raises(ValueError, match="beats_per_bar is a whole number"):
        engine.set_meter(2.5)
    with pytest.raises(ValueError, match="seconds or beats"):
        engine.wait()
    with pytest.raises(ValueError, match="seconds >= 0"):
        engine.wait(-1)
    with pytest.raises(ValueError, match="render"):
        engine.render(-1)
    other = Style([1.0], StyleSpace("other/1", 1), "x")
    with pytest.raises(StyleSpaceError, match="'click/1' and one of space 'other/1'"):
        engine.set_style(other)
    with pytest.raises(EngineError, match="offline"):
        engine.start()


def test_render_while_streaming_is_refused():
    with Engine("click", sink="null", quiet=True) as engine:
        engine.start()
        with pytest.raises(EngineError, match="stop"):
            engine.render(1.0)


def test_live_needs_a_live_clock():
    engine = Engine("click", sink=NullSink(), clock=OfflineClock(), quiet=True)
    with pytest.raises(EngineError, match="live clock"):
        engine.start()


# -- switching backends ------------------------------------------------------------

def test_switching_backend_reembeds_the_slots_at_a_block_boundary(capsys):
    engine = Engine("click", sink=None, quiet=True)
    engine.set_prompt("a", "C4")
    engine.set_prompt("b", "E4", weight=0.5)
    engine.set_backend(SteppedDC(), at_sample=10_000)
    audio = engine.render(1.0)[:, 0]
    boundary = 1920 * 6  # the first block boundary at or after sample 10000
    assert engine.backend.name == "stepped-dc" and engine.block_size == 960
    assert {slot.style.space.name for slot in engine.slots.values()} == {"dc/1"}
    assert engine.slots["b"].weight == 0.5 and engine.slots["b"].prompt.text == "E4"
    click_only = Engine("click", sink=None, quiet=True)
    click_only.set_prompt("a", "C4")
    click_only.set_prompt("b", "E4", weight=0.5)
    reference = click_only.render(1.0)[:, 0]
    assert np.array_equal(audio[:boundary - 240], reference[:boundary - 240])  # untouched before the fade
    assert np.abs(audio[boundary + 240:]).mean() > 0.4  # the new model plays after the fade-in
    assert np.abs(np.diff(audio[boundary - 240:boundary + 240])).max() < 0.02  # no click at the switch


def test_a_bare_style_cannot_follow_a_switch_and_is_dropped_with_a_message():
    engine = Engine("click", sink=None, quiet=True)
    engine.set_style(ClickBackend().style_for(pitch=40))
    engine.set_backend(SteppedDC())
    engine.render(0.2)
    assert len(engine.slots) == 0
    assert any("bare style" in m and "dropped" in m for m in engine.messages)


def test_a_backend_with_another_sample_rate_is_refused():
    class Slow44(SteppedDC):
        sample_rate = 44100

    with pytest.raises(Exception, match="44100 Hz"):
        Engine("click", sink=None).set_backend(Slow44())


def test_a_session_with_a_backend_switch_replays_bit_identically(tmp_path, monkeypatch):
    from livemusic_kernel import models

    monkeypatch.setitem(models.BACKENDS, "stepped-dc", "conftest:SteppedDC")
    log = tmp_path / "s.jsonl"
    engine = Engine("click", sink=None, log=log, quiet=True)
    engine.set_prompt("a", "C4")
    engine.set_backend("stepped-dc", at_beat=2)
    engine.set_prompt("a", "anything", at_beat=3)  # embedded in the new space
    original = engine.render(3.0)
    engine.close()
    render_session(log, tmp_path / "r.wav")
    replayed, _ = read_wav(tmp_path / "r.wav")
    assert np.array_equal(original, replayed)


# -- held notes ------------------------------------------------------------------------------

def test_held_notes_pin_the_pitch_on_their_exact_samples():
    plain, held = offline(), offline()
    for e in (plain, held):
        e.set_style(LONG)
    held.note_on(72, at_sample=30_000)
    held.note_on(60, at_sample=31_000)   # the lowest held note sounds
    held.note_off(60, at_sample=40_000)
    held.notes_off(at_sample=50_000)
    a, b = plain.render(2.0), held.render(2.0)
    assert first_difference(a, b) == 30_000
    assert held.controls.notes == frozenset()
    reference = offline()
    reference.set_style(LONG)
    reference.set_style(ClickBackend().style_for(decay=0.2, pitch=72), at_sample=30_000)
    reference.set_style(ClickBackend().style_for(decay=0.2, pitch=60), at_sample=31_000)
    reference.set_style(ClickBackend().style_for(decay=0.2, pitch=72), at_sample=40_000)
    reference.set_style(LONG, at_sample=50_000)
    assert first_difference(reference.render(2.0), b) is None  # the same as setting those pitches


def test_notes_are_checked_and_replay(tmp_path):
    engine = offline(log=tmp_path / "s.jsonl")
    for bad in (128, -1, 60.5, "C4", True):
        with pytest.raises(ValueError, match="MIDI note number from 0 to 127"):
            engine.note_on(bad)
    engine.note_on(64, at_beat=1)
    engine.note_off(64, at_beat=2)
    original = engine.render(2.0)
    engine.close()
    render_session(tmp_path / "s.jsonl", tmp_path / "r.wav")
    assert np.array_equal(read_wav(tmp_path / "r.wav")[0], original)
