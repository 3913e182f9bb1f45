"""The click model: exact, deterministic, steerable by style."""

from fractions import Fraction

import numpy as np
import pytest
from conftest import onsets

from livemusic_kernel.audio import AudioClip
from livemusic_kernel.models.base import BlockRequest, Controls


def render(backend, controls, frames, block):
    state, parts = backend.initial_state(), []
    for start in range(0, frames, block):
        n = min(block, frames - start)
        beat = Fraction(start) * controls.bpm / (60 * 48000)
        audio, state = backend.step(state, BlockRequest(start, n, beat, controls))
        parts.append(audio)
    return np.concatenate(parts)


@pytest.mark.parametrize("block", [37, 480, 1920, 5000])
def test_output_does_not_depend_on_block_size(click, block):
    """What makes replay bit-exact: the same audio however the engine splits blocks."""
    style = click.style_for(decay=0.1, noise=0.3)
    controls = Controls(style=style, bpm=Fraction(137), seed=4)
    reference = render(click, controls, 96000, 96000)
    assert np.array_equal(render(click, controls, 96000, block), reference)


def test_downbeats_are_an_octave_up_by_default(click):
    audio = render(click, Controls(bpm=Fraction(120)), 96000, 1920)[:, 0]

    def pitch(segment):
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), 1 << 16))
        return np.argmax(spectrum) * 48000 / (1 << 16)

    assert pitch(audio[0:2000]) == pytest.approx(880, rel=0.01)       # beat 0: A5
    assert pitch(audio[24000:26000]) == pytest.approx(440, rel=0.01)  # beat 1: A4


def test_the_seed_changes_only_noisy_clicks(click):
    noisy = click.style_for(noise=0.5)
    a = render(click, Controls(style=noisy, seed=1), 48000, 1920)
    b = render(click, Controls(style=noisy, seed=2), 48000, 1920)
    c = render(click, Controls(style=click.style_for(), seed=2), 48000, 1920)
    d = render(click, Controls(style=click.style_for(), seed=1), 48000, 1920)
    assert not np.array_equal(a, b) and np.array_equal(c, d)


def test_text_sets_the_pitch(click):
    assert click.embed("C4").vector[0] == 60
    assert click.embed("A#3").vector[0] == 58
    assert click.embed("440 Hz").vector[0] == pytest.approx(69)
    assert click.embed("midi 61.5").vector[0] == 61.5
    techno = click.embed("minimal techno").vector[0]
    assert 48 <= techno < 84 and click.embed("Minimal, TECHNO!").vector[0] == techno


def test_audio_embeds_by_analysis(click):
    t = np.arange(48000) / 48000
    tone = 0.3 * np.sin(2 * np.pi * 523.25 * t)
    style = click.embed(AudioClip.from_array(tone, 48000))
    assert style.vector[0] == pytest.approx(72, abs=0.05)       # C5
    assert style.vector[3] == pytest.approx(0.3, abs=0.01)      # level
    noise = np.random.default_rng(0).standard_normal(48000) * 0.1
    assert click.embed(AudioClip.from_array(noise, 48000)).vector[4] > 0.5  # flat spectrum
    silent = click.embed(AudioClip.from_array(np.zeros(100), 48000))
    assert silent.vector[0] == 69  # nothing to hear: the neutral pitch


def test_clicks_never_overlap_even_at_the_fastest_tempo(click):
    audio = render(click, Controls(style=click.style_for(decay=0.2), bpm=Fraction(999)), 48000, 1920)
    assert len(onsets(audio)) == 17  # 999 BPM: a beat every 2882.9 samples
