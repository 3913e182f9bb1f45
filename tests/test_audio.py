"""Tests for livemusic_kernel.audio: clips from arrays, resampling, reading files,
and audio prompts embedded by the click backend's analysis."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile

from livemusic_kernel.audio import AudioClip, load_audio
from livemusic_kernel.errors import StyleError
from livemusic_kernel.models.click import ClickBackend
from livemusic_kernel.style import Prompt

RATE = 48000


def sine(freq: float, seconds: float = 1.0, rate: int = RATE, amp: float = 0.5,
         channels: int = 1) -> np.ndarray:
    """A float32 sine, (frames,) for mono or (frames, channels)."""
    t = np.arange(int(round(seconds * rate))) / rate
    mono = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def peak_hz(signal: np.ndarray, rate: int) -> float:
    """The frequency of the strongest FFT bin (DC excluded)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / len(signal))


def midi(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


# -- AudioClip.from_array -----------------------------------------------------

def test_from_array_mono_becomes_one_channel():
    """A (frames,) array is a one-channel clip of float32 samples."""
    clip = AudioClip.from_array(np.array([0.0, 0.5, -0.25]), 44100)
    assert clip.samples.shape == (3, 1) and clip.samples.dtype == np.float32
    assert (clip.frames, clip.channels, clip.sample_rate) == (3, 1, 44100)
    np.testing.assert_array_equal(clip.samples[:, 0], [0.0, 0.5, -0.25])


def test_from_array_stereo_keeps_channels():
    """A (frames, 2) array keeps both channels in order."""
    stereo = np.stack([np.linspace(-1, 1, 100), np.linspace(1, -1, 100)], axis=1)
    clip = AudioClip.from_array(stereo)
    assert (clip.frames, clip.channels, clip.sample_rate) == (100, 2, RATE)
    np.testing.assert_allclose(clip.samples, stereo, atol=1e-7)


def test_from_array_samples_are_readonly_copies():
    """The clip does not share writable memory with the caller's array."""
    source = np.zeros(10, np.float32)
    clip = AudioClip.from_array(source)
    source[0] = 1.0
    assert clip.samples[0, 0] == 0.0
    with pytest.raises(ValueError):
        clip.samples[0, 0] = 1.0


def test_from_array_leaves_the_callers_array_writable():
    """Building a clip from a float32 (frames, channels) array does not freeze the caller's array."""
    source = np.zeros((10, 2), np.float32)
    clip = AudioClip.from_array(source)
    source[0, 0] = 1.0  # raises if from_array made the caller's array read-only
    assert clip.samples[0, 0] == 0.0


def test_seconds():
    """seconds is frames over the sample rate."""
    assert AudioClip.from_array(np.zeros(22050), 44100).seconds == 0.5


def test_int16_is_scaled_to_unit_range():
    """int16 full scale maps into [-1, 1]: -32768 is -1, 16384 is 0.5, 0 is 0."""
    ints = np.array([-32768, -16384, 0, 16384, 32767], dtype=np.int16)
    samples = AudioClip.from_array(ints).samples[:, 0]
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples[:4], [-1.0, -0.5, 0.0, 0.5])
    assert samples[4] == pytest.approx(1.0, abs=1 / 32768)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_signed_ints_span_minus_one_to_one(dtype):
    """Every signed integer width spans [-1, 1) with zero at zero."""
    info = np.iinfo(dtype)
    samples = AudioClip.from_array(np.array([info.min, 0, info.max], dtype=dtype)).samples[:, 0]
    assert samples[0] == -1.0 and samples[1] == 0.0
    assert 0.99 < samples[2] <= 1.0


def test_int16_matches_how_libsndfile_reads_pcm16(tmp_path):
    """from_array on int16 samples equals load_audio of a 16-bit WAV of the same samples."""
    ints = np.random.default_rng(1).integers(-32768, 32768, size=(1000, 2)).astype(np.int16)
    ints[:2] = [[-32768, 32767], [0, 1]]
    path = tmp_path / "pcm16.wav"
    soundfile.write(path, ints, RATE, subtype="PCM_16")
    np.testing.assert_array_equal(AudioClip.from_array(ints, RATE).samples, load_audio(path).samples)


@pytest.mark.parametrize("shape", [(2, 3, 4), (0,), (0, 2), (10, 0), ()], ids=str)
def test_from_array_rejects_bad_shapes(shape):
    """Audio is (frames,) or (frames, channels) with at least one frame and one channel."""
    with pytest.raises(StyleError):
        AudioClip.from_array(np.zeros(shape))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_from_array_rejects_non_finite_samples(bad):
    """NaN or infinity anywhere in the audio is an error."""
    samples = np.zeros((100, 2))
    samples[57, 1] = bad
    with pytest.raises(StyleError, match="finite"):
        AudioClip.from_array(samples)


@pytest.mark.parametrize("rate", [0, -48000])
def test_non_positive_sample_rate_raises(rate):
    """A clip needs a positive sample rate, however it is built."""
    with pytest.raises(StyleError, match="positive sample rate"):
        AudioClip.from_array(np.zeros(10), rate)
    with pytest.raises(StyleError, match="positive sample rate"):
        AudioClip(np.zeros((10, 1), np.float32), rate)


# -- mono and resampling --------------------------------------------------------

def test_mono_averages_channels():
    """mono() is the per-frame mean of the channels, float32 (frames,)."""
    clip = AudioClip.from_array(np.array([[1.0, 0.0], [0.5, -0.5], [-1.0, -0.5]]))
    mono = clip.mono()
    assert mono.shape == (3,) and mono.dtype == np.float32
    np.testing.assert_array_equal(mono, [0.5, 0.0, -0.75])


def test_mono_of_mono_is_the_samples():
    """mono() of a one-channel clip is that channel."""
    samples = sine(440, 0.01)
    np.testing.assert_array_equal(AudioClip.from_array(samples).mono(), samples)


def test_resampled_to_the_same_rate_is_the_same_clip():
    """Resampling to the clip's own rate changes nothing."""
    clip = AudioClip.from_array(sine(440, 0.1))
    assert clip.resampled(RATE) is clip


@pytest.mark.parametrize("source, target", [(44100, 48000), (48000, 44100), (48000, 16000),
                                            (22050, 48000)])
def test_resampled_keeps_duration(source, target):
    """The resampled clip lasts as long as the original (to within one frame)."""
    clip = AudioClip.from_array(sine(440, 1.0, rate=source, channels=2), source)
    out = clip.resampled(target)
    assert out.sample_rate == target and out.channels == 2
    assert abs(out.frames - clip.frames * target / source) <= 1
    assert out.seconds == pytest.approx(clip.seconds, abs=1 / target)
    assert out.samples.dtype == np.float32


@pytest.mark.parametrize("source, target, freq", [(44100, 48000, 880.0), (48000, 44100, 1000.0),
                                                  (48000, 16000, 3000.0)])
def test_resampled_keeps_a_sines_frequency(source, target, freq):
    """A sine keeps its frequency (FFT peak at the same Hz) and its level across rates."""
    clip = AudioClip.from_array(sine(freq, 1.0, rate=source), source)
    out = clip.resampled(target)
    assert peak_hz(out.mono(), target) == pytest.approx(freq, abs=1.0)
    middle = out.mono()[target // 4: 3 * target // 4]
    assert np.abs(middle).max() == pytest.approx(0.5, abs=0.01)


def test_resampling_removes_content_above_the_new_nyquist():
    """Downsampling is band-limited: a tone above the new Nyquist frequency is filtered out."""
    clip = AudioClip.from_array(sine(10000.0, 1.0, amp=0.5), RATE)
    out = clip.resampled(16000)  # Nyquist 8 kHz
    assert np.abs(out.mono()[1000:-1000]).max() < 0.01


# -- load_audio -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", [44100, 48000])
def test_load_audio_reads_wav_and_flac(tmp_path, fmt, channels, rate):
    """Files written by soundfile read back with their rate, shape and samples."""
    written = sine(440, 0.5, rate=rate, channels=channels)
    if channels == 2:
        written[:, 1] *= -0.5  # tell the channels apart
    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(path, written, rate, format=fmt, subtype="PCM_16")
    clip = load_audio(path)
    assert isinstance(clip, AudioClip)
    assert (clip.sample_rate, clip.frames, clip.channels) == (rate, len(written), channels)
    expected = written if channels == 2 else written[:, None]
    np.testing.assert_allclose(clip.samples, expected, atol=1 / 32768)


def test_load_audio_accepts_str_and_home_paths(tmp_path, monkeypatch):
    """A path may be a string, a Path, or start with '~'."""
    soundfile.write(tmp_path / "a.wav", sine(440, 0.1), RATE)
    monkeypatch.setenv("HOME", str(tmp_path))
    frames = [load_audio(p).frames for p in (str(tmp_path / "a.wav"), tmp_path / "a.wav", "~/a.wav")]
    assert frames == [RATE // 10] * 3


def test_load_audio_keeps_float_samples_exact(tmp_path):
    """A 32-bit float WAV reads back bit for bit."""
    written = np.random.default_rng(0).uniform(-1, 1, (500, 2)).astype(np.float32)
    path = tmp_path / "float.wav"
    soundfile.write(path, written, RATE, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path).samples, written)


def test_missing_file_raises_naming_the_path(tmp_path):
    """A file that is not there is a StyleError that names it."""
    path = tmp_path / "nowhere" / "missing.wav"
    with pytest.raises(StyleError, match="not found") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_a_folder_is_not_an_audio_file(tmp_path):
    """A directory is reported like a missing file."""
    with pytest.raises(StyleError, match="not found"):
        load_audio(tmp_path)


@pytest.mark.parametrize("name", ["notes.txt", "fake.wav", "fake.flac", "noise.raw"])
def test_non_audio_file_raises_naming_the_path_and_formats(tmp_path, name):
    """A file that is not audio is a StyleError naming it and listing readable formats."""
    path = tmp_path / name
    path.write_bytes(b"this is not audio at all\n" * 100)
    with pytest.raises(StyleError) as caught:
        load_audio(path)
    message = str(caught.value)
    assert str(path) in message
    assert "readable formats" in message and "WAV" in message and "FLAC" in message


@pytest.mark.parametrize("name, fmt", [("silent.wav", "WAV"), ("silent.flac", "FLAC")])
def test_empty_audio_file_raises(tmp_path, name, fmt):
    """An audio file with no frames cannot be a prompt."""
    path = tmp_path / name
    soundfile.write(path, np.zeros((0, 2), np.float32), RATE, format=fmt)
    with pytest.raises(StyleError) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_empty_wav_message_says_no_samples(tmp_path):
    """A valid WAV header with zero frames is reported as holding no samples."""
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros((0, 1), np.float32), RATE)
    with pytest.raises(StyleError, match="holds no samples"):
        load_audio(path)


def test_zero_byte_file_raises(tmp_path):
    """A zero-byte .wav file is an error, not an empty clip."""
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(StyleError, match="zero.wav"):
        load_audio(path)


# -- audio prompts through the click backend ---------------------------------------

@pytest.fixture
def click() -> ClickBackend:
    return ClickBackend()


def write_sine(path: Path, freq: float, seconds: float = 1.0, rate: int = RATE, channels: int = 1) -> Path:
    soundfile.write(path, sine(freq, seconds, rate=rate, channels=channels), rate)
    return path


def test_text_prompts_with_exact_pitches(click):
    """'440 Hz' is MIDI 69 and 'C4' MIDI 60, exactly."""
    assert click.embed("440 Hz").vector[0] == 69.0
    assert click.embed("C4").vector[0] == 60.0


def test_embed_a_wav_of_880_hz(click, tmp_path):
    """A file of an 880 Hz sine embeds at pitch 81 (A5), within a tenth of a semitone."""
    path = write_sine(tmp_path / "a880.wav", 880.0)
    style = click.embed(path)
    assert style.vector[0] == pytest.approx(81.0, abs=0.1)
    assert style.as_dict()["level"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("rate, channels", [(44100, 1), (48000, 2), (44100, 2)])
def test_embed_pitch_does_not_depend_on_rate_or_channels(click, tmp_path, rate, channels):
    """The analysed pitch is the same at 44.1 or 48 kHz, mono or stereo."""
    path = write_sine(tmp_path / "a880.wav", 880.0, 0.5, rate, channels)
    assert click.embed(str(path)).vector[0] == pytest.approx(81.0, abs=0.1)


def test_embed_a_string_path_is_audio_not_text(click, tmp_path):
    """A string naming an existing wav is analysed, not hashed as a word."""
    path = write_sine(tmp_path / "low.wav", 110.0)  # A2 = MIDI 45, below the word range 48..84
    assert click.embed(str(path)).vector[0] == pytest.approx(45.0, abs=0.1)


def test_embed_an_array_and_a_clip(click):
    """In-memory audio embeds like a file: arrays and clips give the same pitch."""
    samples = sine(440 * 2 ** (3 / 12), 1.0)  # C5
    assert click.embed(samples).vector[0] == pytest.approx(72.0, abs=0.1)
    clip = AudioClip.from_array(samples, RATE).resampled(44100)
    assert click.embed(clip).vector[0] == pytest.approx(72.0, abs=0.1)


def test_embed_an_int16_array(click):
    """Integer PCM arrays embed at their pitch and at their scaled level."""
    ints = (sine(660.0, 1.0, amp=0.25) * 32768).astype(np.int16)
    style = click.embed(ints)
    assert style.vector[0] == pytest.approx(midi(660.0), abs=0.1)
    assert style.as_dict()["level"] == pytest.approx(0.25, abs=0.01)


def test_mixing_text_and_audio_prompts(click, tmp_path):
    """0.5*C4 (text) + 0.5*C5 (audio file) lands half way, at MIDI 66, as in the papers."""
    c5 = write_sine(tmp_path / "c5.wav", 440 * 2 ** (3 / 12))
    mixed = 0.5 * click.embed("C4") + 0.5 * click.embed(c5)
    assert mixed.vector[0] == pytest.approx(66.0, abs=0.1)


def test_embedded_audio_prompt_keeps_a_label(click, tmp_path):
    """An audio embedding is labelled (the click model calls it 'audio')."""
    path = write_sine(tmp_path / "a.wav", 440.0, 0.2)
    assert click.embed(Prompt.of_audio(path)).label == "audio"


def test_embed_a_missing_file_path_object_raises(click, tmp_path):
    """A Path is always audio, so a missing one is a StyleError, not a text prompt."""
    with pytest.raises(StyleError, match="not found"):
        click.embed(tmp_path / "missing.wav")
