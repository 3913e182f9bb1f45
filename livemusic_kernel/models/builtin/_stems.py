"""Stems: how loud each layer of the arrangement is, from the mix alone.

No source separation model: each layer is told apart by what is physically
its own.

* drums: the percussive share of the energy (broadband, short), from the
  median-filter split of the short frames.
* bass: the energy below 200 Hz that lasts: held over 0.4 s (a running
  median), as a bass line's notes are and a kick's boom is not.
* harmony and lead: the pitched notes between C4 and C7 (262 Hz to 2 kHz),
  leaving out notes that are partials of a note below them (one with a
  strong note an octave, a twelfth or two octaves down). Per long frame the
  loudest remaining note is the line; the lead is how far it outweighs all
  the others together (a melody over soft chords), the harmony is the others
  (chord tones), each as a share of all the energy.
* texture is not measured: a pad and held chords are both sustained pitched
  energy, and what tells them apart to a listener (slow swells, no attack,
  the way a pad sits behind) did not separate FluidSynth's pads from its
  electric piano in any measure tried (running minima, block minima).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

from ._spectra import LOWEST_NOTE, Spectra


@dataclass(frozen=True)
class Stems:
    percussive_share: float
    bass_share: float
    #: Pitched energy between 262 Hz and 2 kHz that is not the strongest line, as a share of all energy.
    chord_share: float
    #: How far the strongest line outweighs the rest of its register, as a share of all energy.
    lead_share: float


def _pitched_power(notes: np.ndarray) -> np.ndarray:
    """Semitone peaks above the local floor, as power (frames, notes)."""
    floor = uniform_filter1d(notes, 7, axis=1, mode="nearest")
    peak = np.zeros_like(notes, dtype=bool)
    peak[:, 1:-1] = (notes[:, 1:-1] >= notes[:, :-2]) & (notes[:, 1:-1] >= notes[:, 2:])
    return np.where(peak, np.maximum(notes - floor, 0.0), 0.0) ** 2


#: Below this, energy is the bass's (or the kick's).
BASS_HZ = 200.0
#: How long low-end energy must last to be a bass note: a kick's boom, even a long 808's, has
#: mostly died within it. Measured as harmonic energy it counted as bass: a General MIDI kit alone
#: read 19% of its energy as bass (a bass line alone 26%, a band without bass 5%); now 2%.
BASS_NOTE_SECONDS = 0.4


def _lasting_low_end(s: Spectra) -> np.ndarray:
    """The power below BASS_HZ that lasts BASS_NOTE_SECONDS (and is not a hit)."""
    low = s.mel_hz < BASS_HZ
    size = max(3, int(round(BASS_NOTE_SECONDS / s.hop)) | 1)
    lasting = median_filter(s.mel[:, low], size=(size, 1), mode="nearest")
    return np.minimum(lasting, s.harmonic[:, low]) ** 2


def stems(s: Spectra) -> Stems:
    harmonic, percussive = s.harmonic ** 2, s.percussive ** 2
    total = harmonic.sum() + percussive.sum()
    if total <= 0:
        return Stems(0.0, 0.0, 0.0, 0.0)
    percussive_share = float(percussive.sum() / total)
    bass_share = float(_lasting_low_end(s).sum() / total)

    pitched = _pitched_power(s.notes)
    midi = LOWEST_NOTE + np.arange(pitched.shape[1])
    # A note with a strong note an octave, a twelfth or two octaves below is most likely that
    # note's partial (a bass line's upper partials are often louder than its fundamental).
    below = np.zeros_like(pitched)
    for interval in (12, 19, 24):
        below[:, interval:] = np.maximum(below[:, interval:], pitched[:, :-interval])
    own = np.where(below > 0.3 * pitched, 0.0, pitched)[:, (midi >= 60) & (midi <= 96)]  # C4 to C7
    line = own.max(axis=1)
    rest = own.sum(axis=1) - line
    pitched_total = pitched.sum()
    harmonic_share = float(harmonic.sum() / total)
    if pitched_total > 0:
        # A lead is one line louder than everything else in its register together.
        lead_share = float(np.maximum(line - rest, 0.0).sum() / pitched_total) * harmonic_share
        chord_share = float(rest.sum() / pitched_total) * harmonic_share
    else:
        lead_share = chord_share = 0.0

    return Stems(percussive_share, bass_share, chord_share, lead_share)
