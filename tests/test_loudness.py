"""BS.1770-4 loudness and true peak, against the standard's table, EBU Tech 3341's reference
signals and pyloudnorm (an independent implementation)."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest

from livemusic_kernel.loudness import integrated_loudness, k_weighting, true_peak

RATE = 48000


def sine(dbfs: float, seconds: float, hz: float = 997.0, rate: int = RATE, phase: float = 0.0,
         channels: int = 2) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    mono = 10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t + phase)
    return np.repeat(mono[:, None], channels, axis=1)


def faded(audio: np.ndarray, frames: int = 2400) -> np.ndarray:
    """Fade in and out, so no reconstruction overshoot comes from an abrupt start or end."""
    n = len(audio)
    ramp = np.minimum(1.0, np.minimum(np.arange(n), n - 1 - np.arange(n)) / frames)
    return audio * (ramp[:, None] if audio.ndim == 2 else ramp)


def test_k_weighting_at_48_khz_is_the_table_of_bs_1770_4():
    shelf, highpass = k_weighting(48000)
    np.testing.assert_allclose(shelf, [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                       1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(highpass, [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


@pytest.mark.parametrize("dbfs", [-23.0, -33.0, 0.0])
def test_a_stereo_sine_reads_its_level(dbfs):
    """EBU Tech 3341 cases 1 and 2: a stereo sine at -23 (-33) dBFS reads -23 (-33) LUFS, within 0.1 LU."""
    assert integrated_loudness(sine(dbfs, 20.0)) == pytest.approx(dbfs, abs=0.01)
    assert integrated_loudness(sine(dbfs, 20.0, hz=1000.0)) == pytest.approx(dbfs, abs=0.01)


def test_one_channel_of_a_full_scale_sine_reads_minus_3_lufs():
    """BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS."""
    audio = sine(0.0, 10.0)
    audio[:, 1] = 0.0
    assert integrated_loudness(audio) == pytest.approx(-3.01, abs=0.01)
    assert integrated_loudness(audio[:, 0]) == pytest.approx(-3.01, abs=0.01)  # mono input


@pytest.mark.parametrize("levels, seconds", [
    ((-36, -23, -36), (10, 60, 10)),                    # EBU Tech 3341 case 3: the relative gate
    ((-72, -36, -23, -36, -72), (10, 10, 60, 10, 10)),  # case 4: both gates
    ((-26, -20, -26), (20, 20.1, 20)),                  # case 5
], ids=["case3", "case4", "case5"])
def test_gating_reference_sequences_read_minus_23_lufs(levels, seconds):
    audio = np.concatenate([sine(level, length, hz=1000.0) for level, length in zip(levels, seconds, strict=True)])
    assert integrated_loudness(audio) == pytest.approx(-23.0, abs=0.1)


def test_silence_and_too_short_audio_have_no_loudness():
    assert integrated_loudness(np.zeros((RATE, 2))) == -math.inf
    assert integrated_loudness(sine(-20.0, 0.3)) == -math.inf  # shorter than one 400 ms block
    assert integrated_loudness(sine(-80.0, 5.0)) == -math.inf  # below the absolute gate


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_loudness_agrees_with_pyloudnorm(rate):
    """Noise, a chord and a pulsed signal: within 0.1 LU of pyloudnorm (which approximates the
    K-weighting curve slightly differently; EBU Tech 3341 allows +-0.1 LU)."""
    rng = np.random.default_rng(rate)
    t = np.arange(8 * rate) / rate
    chord = sum(np.sin(2 * np.pi * hz * t) for hz in (110.0, 277.2, 659.3, 3520.0)) * 0.1
    pulses = rng.normal(0, 0.3, (len(t), 2)) * ((t % 1.0) < 0.2)[:, None]
    signals = {"noise": rng.normal(0, 0.05, (len(t), 2)), "chord": np.stack([chord, 0.5 * chord], 1),
               "pulses": pulses}
    meter = pyloudnorm.Meter(rate)
    for name, audio in signals.items():
        ours, theirs = integrated_loudness(audio, rate), meter.integrated_loudness(audio)
        assert ours == pytest.approx(theirs, abs=0.1), name


def test_surround_channels_are_weighted():
    """BS.1770-4 weights the surround channels 1.41 (+1.5 dB)."""
    front, rear = np.zeros((5 * RATE, 5)), np.zeros((5 * RATE, 5))
    front[:, 0] = rear[:, 3] = sine(-20.0, 5.0, channels=1)[:, 0]
    gain = integrated_loudness(rear) - integrated_loudness(front)
    assert gain == pytest.approx(10 * math.log10(1.41), abs=0.01)
    assert integrated_loudness(rear, weights=[1, 1, 1, 1, 1]) == pytest.approx(integrated_loudness(front))


def test_bad_input_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="NaN or infinity"):
        integrated_loudness(np.full((RATE, 2), np.nan))
    with pytest.raises(ValueError, match="NaN or infinity"):
        true_peak(np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="give weights="):
        integrated_loudness(np.zeros((RATE, 4)))
    with pytest.raises(ValueError, match="one weight per channel"):
        integrated_loudness(np.zeros((RATE, 2)), weights=[1.0])
    with pytest.raises(ValueError, match=r"\(frames,\) or \(frames, channels\)"):
        integrated_loudness(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="sample rate above"):
        integrated_loudness(np.zeros(8000), rate=3000)


def test_true_peak_finds_the_peak_between_samples():
    """A sine at a quarter of the sample rate, sampled 45 degrees off its crests: every sample is
    at -3.01 dBFS, the reconstructed wave peaks at 0 dBTP."""
    audio = faded(sine(0.0, 1.0, hz=RATE / 4, phase=math.pi / 4))
    assert 20 * math.log10(np.abs(audio).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak(audio) == pytest.approx(0.0, abs=0.01)
    assert true_peak(faded(sine(-6.0, 1.0, hz=44100 / 4, rate=44100, phase=math.pi / 4)),
                     44100) == pytest.approx(-6.0, abs=0.01)
    assert true_peak(faded(sine(0.0, 1.0, hz=96000 / 4, rate=96000, phase=math.pi / 4)), 96000) \
        == pytest.approx(0.0, abs=0.01)


def test_true_peak_of_plain_sines_and_silence():
    assert true_peak(faded(sine(-6.0206, 2.0))) == pytest.approx(-6.02, abs=0.01)
    assert true_peak(faded(sine(0.0, 1.0, hz=19000.0, phase=0.1))) == pytest.approx(0.0, abs=0.01)
    assert true_peak(np.zeros((RATE, 2))) == -math.inf
    clipped = np.clip(sine(6.0, 1.0), -1.0, 1.0)
    assert true_peak(clipped) > 0.0  # a clipped square-ish wave overshoots between samples
    assert true_peak(sine(-10.0, 0.5, rate=192000), 192000) == pytest.approx(-10.0, abs=0.01)
