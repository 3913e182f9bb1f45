"""Audio analysis into the builtin style space: synthesized material, odd inputs and the mapping table.

The analysis is checked on General MIDI music rendered by FluidSynth in
test_builtin_analysis_fluidsynth.py; here on additive-synth chords, a synthetic drum
loop and noise (no part of the engine made any of them), and on the inputs that must
never fail: silence, a few samples, mono, 8 and 96 kHz, DC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from livemusic_kernel.audio import AudioClip
from livemusic_kernel.bench import drum_loop
from livemusic_kernel.models.builtin import TextEmbedder
from livemusic_kernel.models.builtin.analysis import MAPPINGS, AudioEmbedder, Mapping, analyse, key_name, markdown_table
from livemusic_kernel.models.builtin.space import BUILTIN_SPACE, bpm_to_tempo, index, neutral_vector

DOC = Path(__file__).resolve().parent.parent / "docs" / "builtin-analysis.md"


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    """A decaying tone with seven harmonics: a plain additive synth."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * freq * n * t) / n for n in range(1, 8) if freq * n < rate / 2)
    return wave * np.exp(-t * 1.5)


def progression(tonic: int, mode: str, bpm: float = 100, bars: int = 8, rate: int = 44100) -> AudioClip:
    """I-IV-V-I (or i-iv-V-i) with a bass line, a chord a bar, in a known key, stereo at 44.1 kHz."""
    chords = {"major": [(0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)],
              "minor": [(0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7)]}[mode]
    bar = 4 * 60 / bpm
    out = np.zeros(int(bars * bar * rate) + rate)
    for b in range(bars):
        chord, start = chords[b % 4], int(b * bar * rate)
        for interval in chord:
            segment = 0.15 * tone(261.63 * 2 ** ((tonic + interval) / 12), bar, rate)
            out[start:start + len(segment)] += segment
        bass = 0.3 * tone(65.41 * 2 ** ((tonic + chord[0]) / 12), bar, rate)
        out[start:start + len(bass)] += bass
    return AudioClip.from_array(np.stack([out, 0.9 * out], axis=1).astype(np.float32), rate)


@pytest.mark.parametrize("mode", ["major", "minor"])
@pytest.mark.parametrize("tonic", [0, 3, 6, 9, 11])  # FluidSynth's test covers all 24 keys
def test_the_key_of_a_progression_is_found(tonic, mode):
    found = analyse(progression(tonic, mode))
    relative = ((tonic + 9) % 12, "minor") if mode == "major" else ((tonic + 3) % 12, "major")
    assert (found.tonic, found.mode) in {(tonic, mode), relative}, f"{key_name(tonic, mode)} -> {found.key}"


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_the_tempo_of_a_drum_loop_is_found_within_two_percent(bpm):
    found = analyse(AudioClip.from_array(drum_loop(bpm, 12.0), 48000))
    assert abs(found.bpm - bpm) / bpm < 0.02 and found.tempo_confidence > 0.5


def test_what_a_listener_hears_orders_the_descriptors():
    embed = AudioEmbedder().embed
    drums = embed(AudioClip.from_array(drum_loop(120, 8.0), 48000))
    chords = embed(progression(0, "major"))
    assert drums.vector[index("drums")] > 0.7 > 0.2 > chords.vector[index("drums")]
    assert drums.vector[index("density")] > chords.vector[index("density")]
    assert drums.vector[index("energy")] > chords.vector[index("energy")] + 0.3
    assert drums.vector[index("tempo")] == pytest.approx(bpm_to_tempo(120), abs=0.01)
    assert chords.vector[index("key_C")] == 1.0 and chords.vector[index("mode")] == 1.0
    assert drums.vector[index("mode")] == pytest.approx(0.5, abs=0.05), "drums have no key"
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, 48000 * 3)
    dark = sosfilt(butter(4, 500, "low", fs=48000, output="sos"), noise)  # muffled
    bright = np.diff(noise, prepend=0.0)                                   # hiss
    assert embed(AudioClip.from_array(bright, 48000)).vector[index("brightness")] > \
        embed(AudioClip.from_array(dark, 48000)).vector[index("brightness")] + 0.5
    loud, quiet = (embed(AudioClip.from_array(noise * gain, 48000)).vector[index("energy")] for gain in (3, 0.03))
    assert loud > quiet + 0.2


@pytest.mark.parametrize("rate, channels, seconds", [(8000, 1, 0.5), (44100, 2, 3.0), (96000, 1, 1.0), (96000, 2, 6.0),
                                                     (8000, 2, 6.0), (48000, 1, 0.001), (22050, 6, 2.0)])
def test_any_rate_channel_count_and_length_embeds(rate, channels, seconds):
    t = np.arange(max(int(rate * seconds), 1)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 440 * t)
    clip = AudioClip.from_array(np.tile(signal[:, None], (1, channels)), rate)
    vector = AudioEmbedder().embed(clip).vector
    assert np.all(np.isfinite(vector)) and np.all((vector >= 0) & (vector <= 1))
    assert vector[index("tempo")] == neutral_vector()[index("tempo")]  # a held tone has no beat


def test_the_same_music_measures_alike_at_any_rate_and_in_mono():
    loop = drum_loop(120, 8.0)
    reference = AudioEmbedder().embed(AudioClip.from_array(loop, 48000)).vector
    for rate in (44100, 96000):
        other = AudioClip.from_array(loop, 48000).resampled(rate)
        assert np.abs(AudioEmbedder().embed(other).vector - reference).max() < 0.1, rate
    stereo = AudioClip.from_array(np.stack([loop, loop], axis=1), 48000)
    assert np.allclose(AudioEmbedder().embed(stereo).vector, reference)


def test_silence_says_nothing_it_cannot_hear():
    style = AudioEmbedder().embed(AudioClip.from_array(np.zeros(48000 * 5), 48000))
    assert np.all(np.isfinite(style.vector))
    assert np.allclose(style.vector[index("key_C"):index("key_B") + 1], 1 / 12)  # no key
    assert style.vector[index("energy")] == 0.0 and style.vector[index("tempo")] == neutral_vector()[index("tempo")]


def test_dc_is_inaudible():
    loop = drum_loop(120, 8.0)
    plain = AudioEmbedder().embed(AudioClip.from_array(loop, 48000)).vector
    offset = AudioEmbedder().embed(AudioClip.from_array(loop + 0.3, 48000)).vector
    assert np.abs(plain - offset).max() < 0.02
    constant = AudioEmbedder().embed(AudioClip.from_array(np.full(48000 * 2, 0.5), 48000)).vector
    assert constant[index("bass")] == 0.0 and constant[index("energy")] == 0.0


def test_text_and_audio_prompts_mix_in_one_space():
    """0.5 * embed("techno") + 0.5 * embed(a loop), as the papers mix prompts."""
    techno = TextEmbedder().embed("techno")
    loop = AudioEmbedder().embed(AudioClip.from_array(drum_loop(140, 8.0), 48000))
    mix = 0.5 * techno + 0.5 * loop
    assert mix.space == BUILTIN_SPACE
    assert mix.vector[index("tempo")] == pytest.approx((techno.vector[index("tempo")] + bpm_to_tempo(140)) / 2,
                                                       abs=0.01)


def test_measured_names_every_dimension_the_embedder_sets():
    rng = np.random.default_rng(1)
    clip = AudioClip.from_array(drum_loop(128, 8.0) + 0.05 * rng.normal(size=int(8.0 * 48000)), 48000)
    vector = AudioEmbedder().embed(clip).vector
    untouched = [d for d in BUILTIN_SPACE.dimensions if d not in AudioEmbedder.MEASURED]
    assert all(vector[index(d)] == neutral_vector()[index(d)] for d in untouched)
    assert {m.dimension for m in MAPPINGS} < set(AudioEmbedder.MEASURED)
    assert "texture" not in AudioEmbedder.MEASURED and not any(d.startswith("timbre_") for d in AudioEmbedder.MEASURED)


def test_a_mapping_rejects_what_it_cannot_read():
    with pytest.raises(ValueError, match="scale 'cubic'; scales: linear, log"):
        Mapping("energy", (("loudness_lufs", -30.0, -10.0, "cubic", 1.0),), "why")
    with pytest.raises(ValueError, match="unknown style dimension 'loudness'"):
        Mapping("loudness", (("loudness_lufs", -30.0, -10.0, "linear", 1.0),), "why")
    with pytest.raises(ValueError, match="measurement 'lufs' is not one of .*loudness_lufs"):
        Mapping("energy", (("lufs", -30.0, -10.0, "linear", 1.0),), "why")


def test_the_documented_mapping_table_is_the_code():
    assert markdown_table() in DOC.read_text(), "regenerate the table in docs/builtin-analysis.md"
