"""Colour and production: brightness, room, distortion and wear.

* Brightness is the spectral centroid of mel magnitudes (not power: power
  lets the bass decide) in Hz.
* Space is heard two ways. Reverb limits how fast sound can die away: a dry
  note stops within a few tens of ms, a note in a hall decays at 60 dB per
  reverberation time. So the steepest decays of the clip (the 95th
  percentile of the 100 ms level drop in third-octave bands from 300 Hz to
  6 kHz) give a decay rate in dB per second. And reverb reaches the two ears
  differently: the share of stereo energy that is not coherent between the
  channels (stereo clips only).
* Grit is distortion: saturation fills the gaps between partials with
  harmonics and intermodulation, so the fine spectrum (6 Hz resolution)
  between 500 Hz and 4 kHz gets flatter. Hits are taken out first (a median
  over five long frames keeps what lasts 0.4 s), so drums count little.
* Wear (lofi) is three things a listener hears on tape and vinyl: a top
  end that falls off a cliff (the level drop from 4-8 kHz to 8-16 kHz beyond
  the drop from 2-4 kHz to 4-8 kHz), a floor of hiss that never goes away
  (each band above 3 kHz: its quietest moments against its loudest, counted
  down by up to 20 dB unless those moments are as flat as noise in the fine
  spectrum, for held strings and choirs never fall quiet either), and
  crackle (isolated clicks far above the local level above 4 kHz).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d
from scipy.signal import butter, sosfilt

from ._spectra import Spectra


def _decay(s: Spectra) -> float:
    bands = (s.mel_hz >= 300) & (s.mel_hz <= 6000)
    power = s.mel[:, bands] ** 2
    usable = power.shape[1] // 6 * 6
    # Coarser bands (six mel bands each) so that one partial ending is not a "decay".
    grouped = 10 * np.log10(np.maximum(power[:, :usable].reshape(len(power), -1, 6).mean(axis=2), 1e-24))
    step = max(1, int(round(0.1 / s.hop)))
    if len(grouped) <= step + 1 or usable == 0:
        return 0.0
    drop = grouped[:-step] - grouped[step:]
    # Only decays from sound well above the clip's floor say anything about the room.
    loud = grouped[:-step] > grouped.max() - 40
    if not loud.any():
        return 0.0
    return float(np.percentile(drop[loud], 95) / (step * s.hop))


def _diffuse(s: Spectra) -> float | None:
    if s.left is None or s.right is None:
        return None
    band = (s.long_hz >= 150) & (s.long_hz <= 8000)
    left, right = s.left[:, band], s.right[:, band]
    cross = np.abs((left * np.conj(right)).sum(axis=0)) ** 2
    power_l, power_r = (np.abs(left) ** 2).sum(axis=0), (np.abs(right) ** 2).sum(axis=0)
    coherence = cross / np.maximum(power_l * power_r, 1e-30)
    weight = power_l + power_r
    if weight.sum() <= 0:
        return None
    return float(((1 - coherence) * weight).sum() / weight.sum())


def _flatness(s: Spectra) -> float:
    band = (s.long_hz >= 500) & (s.long_hz <= 4000)
    if not band.any():
        return 0.0
    lasting = median_filter(s.long[:, band], size=(5, 1), mode="nearest")
    power = lasting ** 2 + 1e-20
    energy = power.mean(axis=1)
    playing = energy > energy.max() * 1e-3
    if not playing.any():
        return 0.0
    flat = np.exp(np.log(power[playing]).mean(axis=1)) / energy[playing]
    return float(np.average(flat, weights=energy[playing]))


def _band_level(spectrum: np.ndarray, hz: np.ndarray, low: float, high: float) -> float:
    return float(10 * np.log10(spectrum[(hz >= low) & (hz < high)].sum() + 1e-30))


def _cliff(s: Spectra) -> float:
    if s.rate < 32000:
        return 40.0  # nothing above the Nyquist frequency: the top end is gone
    spectrum = (s.mel ** 2).mean(axis=0)
    a, b, c = (_band_level(spectrum, s.mel_hz, lo, hi) for lo, hi in ((2000, 4000), (4000, 8000), (8000, 16000)))
    if a < 10 * np.log10(spectrum.sum() + 1e-30) - 40:
        return 0.0  # no treble to speak of: a dark sound, not a cut one
    return float((b - c) - (a - b))


#: How far below its measured level a floor of partials is put (a floor of pure noise, not at all).
_NOT_NOISE_DB = 20.0
#: The fine-spectrum flatness of the quiet moments from which a floor counts in full as hiss: white
#: noise reads about 0.56; a music-and-hiss mix at 25 dB 0.46; sustained strings, choir, organ and
#: pads 0.001-0.04 (FluidSynth), since even the quietest moments of held chords are partials.
_NOISE_FLATNESS = 0.2


def _floor(s: Spectra) -> float:
    band = (s.mel_hz >= 3000) & (s.mel_hz <= min(12000.0, s.rate * 0.45))
    if not band.any():
        return -60.0
    level = 10 * np.log10(s.mel[:, band] ** 2 + 1e-30)
    floor = float(np.median(np.percentile(level, 5, axis=0) - np.percentile(level, 95, axis=0)))
    # Held strings and choirs never let the treble fall quiet either, but their floor is partials
    # (General MIDI strings read -12 dB and a choir -10, past the -14 dB of a worn tape): only a
    # floor as flat as noise in the fine spectrum is hiss.
    return floor - _NOT_NOISE_DB * (1.0 - min(_quiet_flatness(s) / _NOISE_FLATNESS, 1.0))


def _quiet_flatness(s: Spectra) -> float:
    """The spectral flatness (6 Hz bins, 3-8 kHz) of the quietest fifth of the clip's moments there."""
    band = (s.long_hz >= 3000) & (s.long_hz <= min(8000.0, s.rate * 0.45))
    if not band.any() or len(s.long) == 0:
        return 1.0  # nothing to tell it by: the floor counts as it was measured
    power = s.long[:, band] ** 2 + 1e-20
    energy = power.mean(axis=1)
    quiet = energy <= np.percentile(energy, 20)
    return float(np.median(np.exp(np.log(power[quiet]).mean(axis=1)) / energy[quiet]))


def _clicks(s: Spectra) -> float:
    if s.rate < 12000 or s.seconds <= 0:
        return 0.0
    treble = sosfilt(butter(4, 4000, "high", fs=s.rate, output="sos"), s.mono)
    local = np.sqrt(np.maximum(uniform_filter1d(treble ** 2, max(3, int(0.01 * s.rate))), 0.0) + 1e-20)
    spikes = np.abs(treble) > 6 * local
    starts = np.count_nonzero(spikes[1:] & ~spikes[:-1])
    return float(starts / s.seconds)


def production(s: Spectra) -> dict[str, float | None]:
    """The measurements of this module by their names in :class:`analysis.Analysis`, which documents them."""
    magnitude = s.mel.sum(axis=0)
    centroid = float((s.mel_hz * magnitude).sum() / magnitude.sum()) if magnitude.sum() > 0 else 0.0
    return {"centroid_hz": centroid, "decay_db_per_second": _decay(s), "diffuse_share": _diffuse(s),
            "flatness": _flatness(s), "cliff_db": _cliff(s), "floor_db": _floor(s), "clicks_per_second": _clicks(s)}
