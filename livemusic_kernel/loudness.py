"""Loudness and true peak as broadcasters measure them (ITU-R BS.1770-4).

*Integrated loudness* (LUFS) is the mean power of the K-weighted signal: a
high shelf that models the head (+4 dB above about 1.7 kHz) and a high-pass
that models how little we hear below about 40 Hz, summed over channels, in
400 ms blocks overlapping by 75 %, gated twice so that silence and quiet
passages do not pull the figure down: blocks below -70 LUFS are dropped, then
blocks more than 10 LU below the mean of the rest. A full-scale 997 Hz sine
in both stereo channels reads 0 LUFS; at -23 dBFS it reads -23 LUFS.

*True peak* (dBTP, Annex 2) is the peak of the signal between its samples:
the signal is oversampled four times (twice from 96 kHz) with a band-limited
interpolation filter before taking the largest magnitude, because a
digital-to-analogue converter reconstructs peaks that no sample holds (a sine
at a quarter of the sample rate, sampled 45 degrees off its crests, peaks
3 dB above its largest sample).

The filters are designed for any sample rate from the published analogue
parameters of the K-weighting curve; at 48 kHz they equal the coefficients
tabulated in BS.1770-4. ``tests/test_loudness.py`` checks them against that
table, against reference signals (EBU Tech 3341's sines and gating cases) and
against pyloudnorm, an independent implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["k_weighting", "integrated_loudness", "true_peak", "ABSOLUTE_GATE", "RELATIVE_GATE"]

#: Blocks quieter than this (LUFS) never count.
ABSOLUTE_GATE = -70.0
#: Blocks more than this many LU below the ungated mean do not count.
RELATIVE_GATE = -10.0
_BLOCK_S, _STEP_S = 0.4, 0.1
_OFFSET = -0.691  # makes a 997 Hz sine read its level in dBFS (the K-weighting gain there, undone)

# The K-weighting curve's analogue parameters, from which BS.1770-4's 48 kHz table derives.
_SHELF_HZ, _SHELF_DB, _SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
_SHELF_BANDWIDTH = 0.4996667741545416
_HIGHPASS_HZ, _HIGHPASS_Q = 38.13547087602444, 0.5003270373238773

#: Channel weights BS.1770-4 gives for L, R, C, Ls, Rs (the LFE channel is left out).
_SURROUND_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter at ``rate`` Hz, as second-order sections for
    :func:`scipy.signal.sosfilt`: the high shelf, then the high-pass."""
    if not rate > 2 * _SHELF_HZ:
        raise ValueError(f"K-weighting needs a sample rate above {2 * _SHELF_HZ:.0f} Hz, got {rate}")
    k = math.tan(math.pi * _SHELF_HZ / rate)
    gain = 10.0 ** (_SHELF_DB / 20.0)
    band = gain ** _SHELF_BANDWIDTH
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [(gain + band * k / _SHELF_Q + k * k) / a0, 2.0 * (k * k - gain) / a0,
             (gain - band * k / _SHELF_Q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _SHELF_Q + k * k) / a0]
    k = math.tan(math.pi * _HIGHPASS_HZ / rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


def _channels(audio: np.ndarray) -> np.ndarray:
    """(frames, channels) float64 from mono ``(frames,)`` or multichannel input."""
    array = np.asarray(audio, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"audio is (frames,) or (frames, channels), got shape {np.shape(audio)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("audio holds NaN or infinity: loudness and peak are undefined")
    return array


def _weights(channels: int, weights: Sequence[float] | None) -> np.ndarray:
    if weights is None:
        if channels <= 3:
            return np.ones(channels)
        if channels == 5:
            return np.array(_SURROUND_WEIGHTS)
        raise ValueError(f"{channels} channels: give weights= (1.0 for L, R, C; 1.41 for Ls, Rs; "
                         f"leave the LFE channel out)")
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (channels,):
        raise ValueError(f"weights= needs one weight per channel ({channels}), got {len(weights)}")
    return weights


def _to_lufs(power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return _OFFSET + 10.0 * np.log10(power)


def integrated_loudness(audio: np.ndarray, rate: int = 48000, *,
                        weights: Sequence[float] | None = None) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4), or ``-inf`` when no
    400 ms block is louder than -70 LUFS (silence, or less than 400 ms).

    ``audio`` is ``(frames,)`` or ``(frames, channels)``; ``weights`` are the
    channel weights (1 for mono and stereo; the standard's for 5 channels).
    """
    from scipy.signal import sosfilt

    samples = _channels(audio)
    gains = _weights(samples.shape[1], weights)
    block, step = round(_BLOCK_S * rate), round(_STEP_S * rate)
    if len(samples) < block:
        return -math.inf
    weighted = sosfilt(k_weighting(rate), samples, axis=0)
    energy = np.concatenate([np.zeros((1, samples.shape[1])), np.cumsum(weighted ** 2, axis=0)])
    starts = np.arange(0, len(samples) - block + 1, step)
    power = (energy[starts + block] - energy[starts]) / block  # (blocks, channels) mean squares
    summed = power @ gains
    loudness = _to_lufs(summed)
    audible = loudness > ABSOLUTE_GATE
    if not audible.any():
        return -math.inf
    gate = _to_lufs(summed[audible].mean()) + RELATIVE_GATE
    kept = audible & (loudness > gate)
    return float(_to_lufs(summed[kept].mean()))


@lru_cache(maxsize=8)
def _interpolator(rate: int, factor: int) -> np.ndarray:
    """The oversampling filter: flat (within 0.001 dB) to 20/48 of the sample rate
    (20 kHz at 48 kHz), at least 80 dB down from half the sample rate."""
    from scipy.signal import firwin, kaiserord

    fast = factor * rate
    taps, beta = kaiserord(80.0, (rate / 2 - rate * 20 / 48) / (fast / 2))
    return firwin(taps | 1, rate * 22 / 48, window=("kaiser", beta), fs=fast)


def true_peak(audio: np.ndarray, rate: int = 48000) -> float:
    """The true peak in dBTP (BS.1770-4 Annex 2): the largest magnitude of the
    signal oversampled 4x (2x from 96 kHz, none from 192 kHz), over all channels;
    ``-inf`` for digital silence."""
    from scipy.signal import resample_poly

    samples = _channels(audio)
    peak = float(np.max(np.abs(samples)))
    factor = 4 if rate < 96000 else 2 if rate < 192000 else 1
    if factor > 1:
        upsampled = resample_poly(samples, factor, 1, axis=0, window=_interpolator(rate, factor))
        peak = max(peak, float(np.max(np.abs(upsampled))))
    if peak == 0.0:
        return -math.inf
    return 20.0 * math.log10(peak)
