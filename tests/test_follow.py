"""Following the model: tempo and phase from audio, and the engine re-aligning to them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FreeClick, onsets

from livemusic_kernel import Engine, read_wav, render_session
from livemusic_kernel.bench import drum_loop
from livemusic_kernel.follow import TempoFollower

RATE = 48000


def click_render(bpm: float, seconds: float) -> np.ndarray:
    return Engine("click", sink=None, quiet=True, bpm=bpm).render(seconds)


@pytest.mark.parametrize("bpm", [90, 120, 150, 97.3])
@pytest.mark.parametrize("source", ["click", "drums"])
def test_the_tempo_is_within_one_bpm_after_eight_seconds(bpm, source):
    audio = click_render(bpm, 8.0) if source == "click" else drum_loop(bpm, 8.0)
    follower = TempoFollower(RATE)
    for start in range(0, len(audio), 1920):  # fed block by block, as the engine does
        follower.feed(audio[start:start + 1920], start)
    estimate = follower.estimate()
    assert abs(estimate.bpm - bpm) < 1.0, estimate
    assert estimate.confidence > 0.3
    period = 60 / bpm * RATE
    phase_error = (estimate.beat_sample / period) % 1.0
    assert min(phase_error, 1 - phase_error) * period < 0.015 * RATE  # within 15 ms of a true beat


def test_silence_and_noise_give_no_confident_beat():
    follower = TempoFollower(RATE)
    follower.feed(np.zeros(8 * RATE, dtype=np.float32), 0)
    assert follower.estimate() is None or follower.estimate().confidence < 0.3
    noisy = TempoFollower(RATE)
    noisy.feed(np.random.default_rng(1).normal(0, 0.3, 8 * RATE).astype(np.float32), 0)
    estimate = noisy.estimate()
    assert estimate is None or estimate.confidence < 0.3


def test_too_little_audio_gives_no_estimate_yet():
    follower = TempoFollower(RATE)
    follower.feed(click_render(120, 1.0), 0)
    assert follower.estimate() is None


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="min_bpm < max_bpm"):
        TempoFollower(RATE, min_bpm=200, max_bpm=100)
    with pytest.raises(ValueError, match="cannot hold two beats"):
        TempoFollower(RATE, window=1.0, min_bpm=60)


def test_the_engine_follows_a_model_that_keeps_its_own_tempo():
    """A backend without tempo lock plays at 97 BPM, out of phase: the engine's beats move onto its clicks."""
    engine = Engine(FreeClick(97.0), sink=None, quiet=True, bpm=120)
    audio = engine.render(16.0)
    assert engine.tempo_estimate is not None and abs(engine.tempo_estimate.bpm - 97) < 0.5
    assert abs(engine.bpm - 97) < 0.5
    clicks = onsets(audio)
    late = clicks[clicks > 12 * RATE]  # once the clock has followed
    beats = [engine.tempo.sample_of(k) for k in range(1, 40)]
    for click in late[:-1]:
        assert min(abs(click - b) for b in beats) < 0.005 * RATE  # within 5 ms of one of our beats
    assert any("following the model" in m for m in engine.messages)


def test_tempo_locked_backends_are_not_followed_unless_asked():
    assert Engine("click", sink=None)._follower is None
    assert Engine("click", sink=None, follow_tempo=True)._follower is not None
    assert Engine(FreeClick(), sink=None, follow_tempo=False)._follower is None


def test_a_followed_session_replays_bit_identically(tmp_path, monkeypatch):
    from livemusic_kernel import models

    monkeypatch.setitem(models.BACKENDS, "free-click", "conftest:FreeClick")
    engine = Engine("free-click", sink=None, quiet=True, log=tmp_path / "s.jsonl")
    engine.clock.every(1, lambda: engine.set(seed=int(engine.clock.horizon) % 100))
    original = engine.render(12.0)
    engine.close()
    render_session(tmp_path / "s.jsonl", tmp_path / "r.wav")
    assert np.array_equal(read_wav(tmp_path / "r.wav")[0], original)
