"""The builtin model's signal processing: oscillators, noise, filters, reverb, leveler, limiter."""

import math

import numpy as np
import pytest

from livemusic_kernel.models.builtin import _dsp
from livemusic_kernel.models.builtin._dsp import (
    RATE,
    Filter,
    Leveler,
    Limiter,
    Reverb,
    Wavetable,
    adsr,
    biquad,
    noise,
    phase_steps,
    saturate,
    sine,
    soft_clip,
)


def spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    magnitude = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / RATE), magnitude


def test_fixed_point_phase_gives_the_frequency_and_a_sine_of_unit_amplitude():
    x = sine(phase_steps(1000.0, RATE))
    freqs, magnitude = spectrum(x)
    assert freqs[np.argmax(magnitude)] == pytest.approx(1000.0, abs=1.0)
    assert np.abs(x).max() == pytest.approx(1.0, abs=1e-3)
    # The phase of sample n depends only on n: a note's tail is the same however it is cut.
    assert np.array_equal(phase_steps(440.0, 2000)[1000:], phase_steps(440.0, 2000)[1000:])


def test_vibrato_and_glide_move_the_pitch_as_asked():
    glide = sine(phase_steps(100.0, RATE, glide=(4.0, 0.1)))
    start, end = spectrum(glide[:2048]), spectrum(glide[-8192:])
    assert start[0][np.argmax(start[1])] > 150 and end[0][np.argmax(end[1])] == pytest.approx(100.0, abs=6)
    steady, wobbly = phase_steps(1000.0, RATE), phase_steps(1000.0, RATE, vibrato=(5.0, 0.01, 0.0))
    assert not np.array_equal(steady, wobbly)


def test_wavetables_are_band_limited_at_every_pitch():
    saw = Wavetable(1.0 / np.arange(1, 400))
    for hz in (55.0, 880.0, 5000.0):
        x = saw.read(phase_steps(hz, RATE), hz)
        freqs, magnitude = spectrum(x)
        above = magnitude[freqs > 20500].max() / magnitude.max()
        assert above < 1e-3, f"{hz} Hz: energy above 20.5 kHz at {20 * np.log10(above):.0f} dB"
        assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1 / math.sqrt(2), rel=0.25)


def test_noise_is_the_same_for_the_same_offset_and_continuous_across_a_cut():
    assert np.array_equal(noise(1000, 12345), noise(1000, 12345))
    assert not np.array_equal(noise(1000, 0), noise(1000, 1000))
    whole = noise(3000, (1 << 18) - 1000)  # wraps around the table
    assert np.array_equal(whole, np.concatenate([noise(1000, (1 << 18) - 1000), noise(2000, 1 << 18)]))
    assert abs(float(noise(1 << 16, 0).std()) - 1.0) < 0.02


def test_adsr_releases_from_where_it_was_without_a_step():
    env = adsr(RATE, RATE // 4, 0.01, 0.2, 0.5, 0.2)
    assert env[0] == 0.0 and env.max() <= 1.0
    assert abs(float(env[RATE // 4]) - float(env[RATE // 4 - 1])) < 0.01
    assert env[-1] < 0.01
    short = adsr(RATE, 100, 0.05, 0.2, 0.5, 0.1)  # let go during the attack
    assert short.max() < 0.1 and short[-1] < 1e-3


def test_filters_carry_their_state_across_blocks():
    x = noise(4096, 7).reshape(-1, 1).repeat(2, axis=1)
    f = Filter.of(biquad("lowpass", 1000.0))
    whole, _ = f(x, f.initial())
    first, state = f(x[:1000], f.initial())
    second, _ = f(x[1000:], state)
    assert np.allclose(whole, np.concatenate([first, second]), atol=1e-6)
    with pytest.raises(ValueError, match="choose one of: lowpass, highpass, bandpass, peak, lowshelf, highshelf"):
        biquad("notch", 1000.0)


@pytest.mark.parametrize("kind, low, high", [("lowpass", 1.0, 0.0), ("highpass", 0.0, 1.0),
                                             ("lowshelf", 2.0, 1.0), ("highshelf", 1.0, 2.0)])
def test_filter_kinds_shape_the_spectrum_as_named(kind, low, high):
    from scipy.signal import freqz

    b, a = biquad(kind, 1000.0, 0.7071, 6.02)
    _, response = freqz(b, a, worN=[50.0, 15000.0], fs=RATE)
    assert np.abs(response) == pytest.approx([low, high], abs=0.1)


def test_the_reverb_decays_in_its_time_gives_a_decorrelated_stereo_tail_and_ignores_how_it_is_cut():
    reverb = Reverb()
    impulse = np.zeros(3 * RATE, dtype=np.float32)
    impulse[0] = 1.0
    wet, _ = reverb(impulse, reverb.initial(), 1.0, 8000.0)
    energy = (wet ** 2).sum(axis=1)
    early, late = energy[int(0.1 * RATE):int(0.3 * RATE)].mean(), energy[int(1.1 * RATE):int(1.3 * RATE)].mean()
    assert 10 * np.log10(early / late) == pytest.approx(60.0, abs=15.0)  # about 60 dB per second
    tail = wet[int(0.2 * RATE):int(1.0 * RATE)]
    assert abs(np.corrcoef(tail[:, 0], tail[:, 1])[0, 1]) < 0.3
    state, pieces = reverb.initial(), []
    for begin, end in ((0, 1000), (1000, 1001), (1001, 40000), (40000, len(impulse))):
        piece, state = reverb(impulse[begin:end], state, 1.0, 8000.0)
        pieces.append(piece)
    assert np.array_equal(np.concatenate(pieces), wet)


def test_the_limiter_never_passes_the_ceiling_and_recovers():
    limiter = Limiter(-1.5)
    x = np.concatenate([np.full(1000, 0.5), np.full(10, 2.0), np.full(RATE, 0.5)]).astype(np.float32)
    x = np.stack([x, -x], axis=1)
    out, state = limiter(x, limiter.initial())
    assert np.abs(out).max() <= limiter.ceiling + 1e-7
    assert np.allclose(out[:1000], x[:1000])           # untouched before the peak
    assert out[1010, 0] < 0.5                          # ducked just after it ...
    assert out[-1, 0] == pytest.approx(0.5, abs=1e-4)  # ... and back to unity later
    quiet, same = limiter(x[:1000], limiter.initial())
    assert quiet is x[:1000] or np.array_equal(quiet, x[:1000])
    # Cut anywhere, the same gain curve (up to float rounding).
    a, s = limiter(x[:1005], limiter.initial())
    b, _ = limiter(x[1005:], s)
    assert np.allclose(np.concatenate([a, b]), out, atol=1e-6)


def test_the_leveler_brings_a_steady_signal_to_its_target_loudness():
    leveler = Leveler(seconds=0.5, range_db=20.0)
    t = np.arange(8 * RATE) / RATE
    tone = (0.05 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    x = np.stack([tone, tone], axis=1)
    out, _ = leveler(x, leveler.initial(-18.0), -18.0)
    k, _ = _dsp.Filter.of(_dsp.K_WEIGHTING)(out[-2 * RATE:], _dsp.Filter.of(_dsp.K_WEIGHTING).initial())
    loudness = -0.691 + 10 * np.log10((k ** 2).mean(axis=0).sum())
    assert loudness == pytest.approx(-18.0, abs=0.5)
    silence, _ = leveler(np.zeros((RATE, 2), np.float32), leveler.initial(-18.0), -18.0)
    assert not silence.any()  # silence is never boosted into noise


def test_waveshapers_are_bounded_and_leave_quiet_signals_alone():
    x = np.linspace(-3, 3, 1001, dtype=np.float32)
    clipped = soft_clip(x, 0.55, 0.95)
    assert np.abs(clipped).max() <= 0.95 and np.all(np.diff(clipped) >= 0)
    assert np.array_equal(clipped[np.abs(x) <= 0.55], x[np.abs(x) <= 0.55])
    assert np.abs(saturate(x, 10.0)).max() <= 1.0 + 1e-6 and saturate(x, 1.0) is x


def test_the_leveler_warms_up_fast_and_hands_over_without_depending_on_block_cuts():
    leveler = Leveler(seconds=2.0, warmup=2.0, warmup_seconds=0.3)
    t = np.arange(4 * RATE) / RATE
    loud = (0.2 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)  # about 8 dB above the target
    x = np.stack([loud, loud], axis=1)
    whole, _ = leveler(x, leveler.initial(-18.0), -18.0, start=0)
    slow, _ = leveler(x, leveler.initial(-18.0), -18.0)  # no warm-up: the stream is long under way

    def off_target(y):
        k, _ = Filter.of(_dsp.K_WEIGHTING)(y[RATE:2 * RATE], Filter.of(_dsp.K_WEIGHTING).initial())
        return abs(-0.691 + 10 * np.log10((k ** 2).mean(axis=0).sum()) + 18.0)

    assert off_target(whole) < 1.0 < off_target(slow)  # at its level within the first second
    state, pieces = leveler.initial(-18.0), []
    for begin, end in ((0, 1000), (1000, 2 * RATE - 7), (2 * RATE - 7, 2 * RATE + 500), (2 * RATE + 500, len(x))):
        piece, state = leveler(x[begin:end], state, -18.0, start=begin)
        pieces.append(piece)
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-6)
