"""The builtin model's instruments: a synthesiser for each timbre family, and drum kits.

Every note is rendered whole, once, when it starts: a mono float32 array
from the attack to the end of its release, as a function of the note's
pitch, how long it is held, and the instrument's settings. The mixer then
only adds slices of it into the blocks it overlaps, which is what lets the
model run many times faster than real time. Rendered notes are kept in a
cache bounded in bytes, because music repeats itself: the second bar of a
loop costs almost nothing.

How each family is made (all from wavetables, sines and deterministic noise,
see ``_dsp``), chosen so that families are told apart by ear:

================  =============================================================
piano             hammered strings: a bright attack spectrum fading into a
                  darker one, two slightly detuned strings, a two-stage decay
                  that is longer for low notes, a felt-hammer thump
electric_piano    two-operator FM (a tine): a bell-like attack whose index
                  decays, a soft sustain
organ             drawbars (harmonics 1, 2, 3, 4, 6, 8), flat sustain, a key
                  click and a rotary-speaker tremolo
guitar_clean      a plucked string (pluck-position comb spectrum) darkening as
                  it rings, a pick click
guitar_distorted  two detuned saws through hard saturation and a speaker
                  cabinet's band (90 Hz to 4 kHz): fuzz
plucked           a brighter, shorter pluck (harp, koto, banjo, sitar, oud)
bowed             a sawtooth with body resonances, a slow bow attack, delayed
                  vibrato, three players for an ensemble, bow noise
brass             a spectrum that brightens with loudness, a pitch scoop at
                  the attack
woodwind          nearly a sine with weak overtones, breath noise and a chiff
reed              a nasal odd-leaning spectrum with a formant near 1.1 kHz and
                  three detuned reeds beating against each other (accordion)
voice             a glottal source through vowel formants ("ah", "oo" when
                  dark), vibrato, a small choir
mallet            struck bars: inharmonic partials 1 : 4 : 10 (marimba, dark)
                  blending into the harmonic, strongly octaved partials of a
                  steel pan (bright), no sustain
synth_lead        detuned saw and square, a filter-like brightness decay,
                  delayed vibrato
synth_pad         three detuned saws, heavily lowpassed, slow attack and
                  release
synth_bass        saw or square with a sub oscillator and a filter sweep;
                  resonant (acid) when bright and gritty
================  =============================================================

Drums come in three kits (electronic, acoustic, hand percussion), each piece
synthesised once per kit setting and cached.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _dsp
from ._dsp import RATE, Wavetable, adsr, biquad, decay, filtered, hz, noise, phase_steps, saturate, sine
from .space import TIMBRES

__all__ = ["PITCHED", "DRUM_KITS", "DRUM_PIECES", "Tone", "Kit", "render_note", "render_drum",
           "note_cache", "NoteCache"]

#: The families that play notes (the other three are drum kits).
PITCHED = tuple(t for t in TIMBRES if t not in ("acoustic_drums", "electronic_drums", "hand_percussion"))
DRUM_KITS = ("electronic", "acoustic", "hand")
#: The pieces a drum pattern plays, whatever the kit.
DRUM_PIECES = ("kick", "snare", "clap", "hat", "open_hat", "ride", "crash", "tom_low", "tom_high",
               "rim", "shaker", "perc_low", "perc_high")

_END_FADE = int(0.005 * RATE)
_LOUDNESS_WINDOW = int(0.1 * RATE)  # notes are normalised by the RMS of their loudest tenth of a second


@dataclass(frozen=True)
class Tone:
    """How an instrument is set: what a note is rendered from (hashable, a cache key).

    ``brightness`` and ``grit`` are quantised by :meth:`of`, so nearby styles
    share rendered notes.
    """

    family: str
    brightness: float = 0.5
    grit: float = 0.0
    #: The ensemble size for families that have one (bowed, voice, reed): 1 = solo.
    players: int = 1

    @classmethod
    def of(cls, family: str, brightness: float, grit: float, players: int = 1) -> Tone:
        if family not in PITCHED:
            raise ValueError(f"unknown instrument family {family!r}; choose one of: {', '.join(PITCHED)}")
        return cls(family, round(float(np.clip(brightness, 0, 1)) * 20) / 20,
                   round(float(np.clip(grit, 0, 1)) * 20) / 20, int(players))


@dataclass(frozen=True)
class Kit:
    """A drum kit setting (hashable, a cache key).

    ``tonic`` tunes the drums that ring with a pitch (the kick, the toms, hand
    drums) to the key, as producers tune a kick: an untuned 808 rings on some
    other note and pulls the ear, and a key finder, towards it.
    """

    kind: str
    brightness: float = 0.5
    grit: float = 0.0
    tonic: int = 9

    @classmethod
    def of(cls, kind: str, brightness: float, grit: float, tonic: int = 9) -> Kit:
        if kind not in DRUM_KITS:
            raise ValueError(f"unknown drum kit {kind!r}; choose one of: {', '.join(DRUM_KITS)}")
        return cls(kind, round(float(np.clip(brightness, 0, 1)) * 10) / 10,
                   round(float(np.clip(grit, 0, 1)) * 10) / 10, int(tonic) % 12)

    def tuned(self, low_hz: float, degree: int = 0) -> float:
        """The frequency of the key's ``degree`` (semitones above the tonic) in the octave from ``low_hz``."""
        midi = 12 * np.log2(low_hz / 440.0) + 69
        note = midi + (self.tonic + degree - midi) % 12
        return hz(float(note))


class NoteCache:
    """Rendered notes by their parameters, least recently used first out, bounded in bytes."""

    def __init__(self, budget_bytes: int = 64 << 20):
        self.budget = budget_bytes
        self._entries: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def get(self, key: tuple, make) -> np.ndarray:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        value = make()
        value.setflags(write=False)
        self._entries[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.budget and len(self._entries) > 1:
            _, old = self._entries.popitem(last=False)
            self._bytes -= old.nbytes
        return value

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


#: One cache per process: rendered notes are pure functions of their key.
note_cache = NoteCache()


def render_note(tone: Tone, midi: int, held: int, loud: bool = False) -> np.ndarray:
    """A whole note: ``held`` frames until it is let go, then its release.

    ``loud`` picks the hard-played layer (brighter for families whose colour
    follows dynamics). The result is normalised to a common loudness; the
    mixer applies velocity as gain.
    """
    held = max(int(held), 16)
    midi = int(np.clip(midi, 12, 120))
    return note_cache.get(("note", tone, midi, held, loud), lambda: _render(tone, midi, held, loud))


def _render(tone: Tone, midi: int, held: int, loud: bool) -> np.ndarray:
    f = hz(midi)
    b = min(1.0, tone.brightness + (0.15 if loud else 0.0))
    audio = _FAMILIES[tone.family](f, held, b, tone)
    if tone.grit > 0.2 and tone.family != "guitar_distorted":
        audio = saturate(audio * np.float32(1.0 + 2.0 * tone.grit), 1.0 + 8.0 * (tone.grit - 0.2) ** 2)
    whole = len(audio) // _LOUDNESS_WINDOW * _LOUDNESS_WINDOW
    windows = audio[:whole].reshape(-1, _LOUDNESS_WINDOW) if whole else audio[None, :]
    rms = float(np.sqrt((windows * windows).mean(axis=1).max()))
    if rms > 1e-6:
        audio = audio * np.float32(0.25 / rms)
    audio = audio.astype(np.float32)
    # However a family's release ends, the note ends at zero: a tail cut at -30 dB would click.
    tail = min(_END_FADE, len(audio))
    audio[len(audio) - tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)
    return audio


# -- spectra ----------------------------------------------------------------------------------

def _spectrum(count: int, slope: float, *, odd: float = 1.0, even: float = 1.0,
              pluck: float | None = None, formants: tuple = (), f0: float = 0.0,
              rolloff_hz: float | None = None) -> np.ndarray:
    """Harmonic amplitudes 1..count: a power-law slope, odd/even balance, a plucked
    string's comb (pluck position as a fraction of the string), formant peaks
    ``(centre_hz, gain, width_hz)`` for a note of ``f0``, and a gentle lowpass."""
    k = np.arange(1, count + 1, dtype=np.float64)
    a = k ** -slope
    a *= np.where(k % 2 == 1, odd, even)
    if pluck is not None:
        a *= np.abs(np.sin(math.pi * k * pluck)) + 0.05
    freq = k * f0
    for centre, gain, width in formants:
        a *= 1.0 + gain * np.exp(-0.5 * ((freq - centre) / width) ** 2)
    if rolloff_hz is not None:
        a *= 1.0 / np.sqrt(1.0 + (freq / rolloff_hz) ** 4)
    return a


@lru_cache(maxsize=512)
def _table(kind: str, b: float, pitch_key: int = 0) -> Wavetable:
    """The wavetables of the families, by brightness (and pitch where formants are fixed in Hz)."""
    f0 = hz(pitch_key) if pitch_key else 0.0
    if kind == "piano_attack":
        return Wavetable(_spectrum(48, 1.0 + 1.1 * (1 - b), pluck=1 / 8))
    if kind == "piano_body":
        return Wavetable(_spectrum(32, 2.3 + 1.0 * (1 - b), pluck=1 / 8))
    if kind == "organ":
        levels = {1: 1.0, 2: 0.75, 3: 0.55 * (0.5 + b), 4: 0.45, 6: 0.35 * b, 8: 0.3 * b}
        a = np.zeros(8)
        for k, level in levels.items():
            a[k - 1] = level
        return Wavetable(a)
    if kind == "pluck_attack":
        return Wavetable(_spectrum(48, 0.7 + 0.6 * (1 - b), pluck=0.13))
    if kind == "pluck_body":
        return Wavetable(_spectrum(40, 1.6 + 0.9 * (1 - b), pluck=0.13))
    if kind == "guitar_attack":
        return Wavetable(_spectrum(40, 1.0 + 0.8 * (1 - b), pluck=0.2))
    if kind == "guitar_body":
        return Wavetable(_spectrum(32, 2.0 + 0.8 * (1 - b), pluck=0.2))
    if kind == "saw":
        return Wavetable(_spectrum(200, 1.0 + 0.6 * (1 - b)))
    if kind == "square":
        return Wavetable(_spectrum(200, 1.0 + 0.6 * (1 - b), even=0.08))
    if kind == "bowed":
        return Wavetable(_spectrum(80, 1.05 + 0.5 * (1 - b), formants=((280, 1.5, 90), (1000, 1.0, 300),
                                                                      (2800, 0.8 * b, 600)), f0=f0))
    if kind == "brass_soft":
        return Wavetable(_spectrum(40, 2.6 - 0.8 * b))
    if kind == "brass_loud":
        return Wavetable(_spectrum(60, 1.4 - 0.5 * b, formants=((1200, 1.5, 500),), f0=f0))
    if kind == "flute":
        a = np.array([1.0, 0.22 + 0.2 * b, 0.08 + 0.12 * b, 0.03 + 0.05 * b, 0.02 * b])
        return Wavetable(a)
    if kind == "reed":
        return Wavetable(_spectrum(60, 0.85 + 0.5 * (1 - b), odd=1.0, even=0.55,
                                   formants=((1100, 2.5, 450), (2700, 1.2 * b, 700)), f0=f0))
    if kind == "voice":
        vowel = ((730, 6.0, 90), (1090, 3.0, 110), (2440, 1.5, 160)) if b >= 0.4 else \
            ((300, 6.0, 60), (870, 2.0, 90), (2240, 0.6, 140))
        return Wavetable(_spectrum(60, 1.3, formants=vowel, f0=f0))
    if kind == "pad":
        return Wavetable(_spectrum(120, 1.0, rolloff_hz=f0 * 2.0 + 500 + 3500 * b, f0=f0))
    if kind == "bass_bright":  # the filter envelope's peak: open, and resonant (acid) when bright
        cutoff = 500 + 2500 * b ** 1.5
        resonance = ((cutoff, 5.0 * (b - 0.55), 0.25 * cutoff),) if b > 0.6 else ()
        return Wavetable(_spectrum(120, 1.0, formants=resonance, f0=f0, rolloff_hz=cutoff))
    if kind == "bass_body":  # where the filter settles: round, a few harmonics
        return Wavetable(_spectrum(40, 1.2, f0=f0, rolloff_hz=2.5 * f0 + 150 + 600 * b))
    raise ValueError(f"unknown wavetable {kind!r}")


def _pitch_key(f: float) -> int:
    """A note's MIDI number, to key the pitch-dependent (formant) tables."""
    return int(round(69 + 12 * math.log2(f / 440.0)))


def _cents(c: float) -> float:
    return 2.0 ** (c / 1200.0)


# -- the families -----------------------------------------------------------------------------

def _length(held: int, release: float, limit: float | None = None) -> int:
    frames = held + int(release * RATE)
    return frames if limit is None else min(frames, int(limit * RATE))


def _string(f: float, n: int, held: int, bright: Wavetable, body: Wavetable, *, detune: float, brightness_s: float,
            envelope: float | np.ndarray, ramp: int, damp: float) -> np.ndarray:
    """A struck or plucked string: a bright spectrum fading into a darker one over ``brightness_s``,
    two strings ``detune`` cents apart beating gently (one string at 0), a decay (a time constant
    in seconds, or a whole envelope) after a ``ramp``-frame onset, and a damper that stops it
    ``damp`` seconds after it is let go."""
    p1 = phase_steps(f * _cents(detune), n)
    xf = decay(n, brightness_s)
    strings = body.read(p1, f)
    if detune:
        strings = 0.5 * (strings + body.read(phase_steps(f * _cents(-detune), n), f))
    x = xf * bright.read(p1, f) + (1 - xf) * strings
    env = envelope if isinstance(envelope, np.ndarray) else decay(n, envelope)
    env[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
    env[held:] *= decay(n - held, damp)
    return x * env


def _strike(n: int, seed: int, coefficients: tuple, seconds: float, level: float) -> np.ndarray:
    """The noise of a hammer, pick or mallet hitting: a filtered burst of ``seconds``."""
    m = min(n, int(0.0125 * RATE))
    return filtered(noise(m, seed), coefficients) * decay(m, seconds) * np.float32(level)


def _piano(f, held, b, tone):
    tau = float(np.clip(3.2 * (130.0 / f) ** 0.45, 0.5, 9.0))
    n = _length(held, 0.18, 6.0 * tau)
    # Two stages of decay, fast then slow, as a piano string's energy leaves through its bridge.
    env = np.float32(0.55) * decay(n, 0.18 * tau) + np.float32(0.45) * decay(n, tau)
    x = _string(f, n, held, _table("piano_attack", b), _table("piano_body", b), detune=1.1,
                brightness_s=0.08 + 0.25 * b, envelope=env, ramp=96, damp=0.06)
    thump = _strike(n, int(f * 7), biquad("lowpass", 1800 + 2000 * b), 0.004, 0.3)
    x[:len(thump)] += thump
    return x


def _electric_piano(f, held, b, tone):
    n = _length(held, 0.3, 5.0)
    p = phase_steps(f, n)
    index = (0.6 + 2.2 * b) * decay(n, 0.35) + 0.25
    modulator = sine(p)
    x = np.sin(p.astype(np.float32) * np.float32(2 * math.pi / 2 ** 32) + index * modulator)
    tine = sine(phase_steps(7.0 * f, n)) * decay(n, 0.03) * np.float32(0.25 + 0.3 * b)
    env = adsr(n, held, 0.002, 1.6, 0.25, 0.3)
    return (x + tine) * env


def _organ(f, held, b, tone):
    n = _length(held, 0.06)
    p = phase_steps(f, n, vibrato=(6.3, 0.0015, 0.0))
    x = _table("organ", b).read(p, f)
    rotor = np.sin(np.arange(n, dtype=np.float32) * np.float32(2 * math.pi * 6.3 / RATE))
    x *= np.float32(1.0) + np.float32(0.18) * rotor  # the rotary speaker's tremolo
    if b > 0.5:  # percussion: a decaying third harmonic, as on a jazz organ
        x += sine(phase_steps(3.0 * f, n)) * decay(n, 0.2) * np.float32(0.5 * (b - 0.5))
    click = filtered(noise(min(n, 200), int(f * 3)), biquad("highpass", 2000)) * np.float32(0.15)
    x[:len(click)] += click
    return x * adsr(n, held, 0.006, 1.0, 1.0, 0.06)


def _guitar_clean(f, held, b, tone):
    tau = float(np.clip(2.0 * (150.0 / f) ** 0.35, 0.5, 4.0))
    n = _length(held, 0.1, 5.0 * tau)
    x = _string(f, n, held, _table("guitar_attack", b), _table("guitar_body", b), detune=1.5,
                brightness_s=0.1 + 0.2 * b, envelope=tau, ramp=48, damp=0.03)
    pick = _strike(n, int(f * 5), biquad("highpass", 2500), 0.002, 0.25)
    x[:len(pick)] += pick
    return x


def _guitar_distorted(f, held, b, tone):
    n = _length(held, 0.08)
    saw = _table("saw", 0.8)
    x = 0.5 * (saw.read(phase_steps(f * _cents(7), n), f) + saw.read(phase_steps(f * _cents(-7), n), f))
    x = saturate(x * np.float32(1.5), 6.0 + 18.0 * tone.grit)
    x = filtered(x, _dsp.cascade(biquad("highpass", 90), biquad("lowpass", 2500 + 2500 * b, 0.9),
                                 biquad("peak", 1800, 1.0, 4.0)))
    return x * adsr(n, held, 0.004, 3.0, 0.7, 0.08)


def _plucked(f, held, b, tone):
    tau = float(np.clip(1.1 * (200.0 / f) ** 0.4, 0.25, 3.0))
    n = _length(held, 0.08, 5.0 * tau)
    return _string(f, n, held, _table("pluck_attack", b), _table("pluck_body", b), detune=0.0,
                   brightness_s=0.04 + 0.1 * b, envelope=tau, ramp=24, damp=0.025)


def _bowed(f, held, b, tone):
    n = _length(held, 0.3)
    table = _table("bowed", b, _pitch_key(f))
    players = max(1, tone.players)
    detunes = (0.0, 6.0, -6.0)[:players] if players <= 3 else (0.0, 6.0, -6.0)
    x = np.zeros(n, dtype=np.float32)
    for i, cents in enumerate(detunes):
        p = phase_steps(f * _cents(cents), n, vibrato=(5.3 + 0.4 * i, 0.0035, 0.25 + 0.1 * i))
        x += table.read(p, f)
    x /= np.float32(math.sqrt(len(detunes)))
    bow = filtered(noise(n, int(f * 11)), biquad("bandpass", 2500, 1.2)) * np.float32(0.015)
    return (x + bow) * adsr(n, held, 0.09 + 0.1 * (1 - b), 2.0, 0.85, 0.3)


def _brass(f, held, b, tone):
    n = _length(held, 0.12)
    p = phase_steps(f, n, vibrato=(5.0, 0.002, 0.35), glide=(0.97, 0.025))
    soft, loud = _table("brass_soft", b), _table("brass_loud", b, _pitch_key(f))
    t = np.arange(n, dtype=np.float32) / np.float32(RATE)
    blat = np.clip(t / 0.05, 0, 1) * (0.55 + 0.45 * np.exp(-np.maximum(t - 0.05, 0) / 0.25))
    x = soft.read(p, f) * (1 - blat) + loud.read(p, f) * blat
    return x * adsr(n, held, 0.03, 1.5, 0.8, 0.12)


def _woodwind(f, held, b, tone):
    n = _length(held, 0.12)
    p = phase_steps(f, n, vibrato=(5.0, 0.004, 0.3))
    x = _table("flute", b).read(p, f)
    breath = filtered(noise(n, int(f * 13)), biquad("bandpass", min(2 * f, 6000), 2.0)) * np.float32(0.05)
    chiff = filtered(noise(min(n, 1200), int(f * 17)), biquad("highpass", 1500)) * decay(min(n, 1200), 0.008)
    x = x + breath
    x[:len(chiff)] += np.float32(0.12) * chiff
    return x * adsr(n, held, 0.05, 1.0, 0.9, 0.12)


def _reed(f, held, b, tone):
    n = _length(held, 0.1)
    table = _table("reed", b, _pitch_key(f))
    # Three reeds a few cents apart: the slow beating is the accordion's shimmer.
    detunes = (0.0, 11.0, -9.0) if tone.players >= 2 else (0.0, 4.0)
    x = np.zeros(n, dtype=np.float32)
    for cents in detunes:
        x += table.read(phase_steps(f * _cents(cents), n, vibrato=(4.5, 0.0015, 0.4)), f)
    x /= np.float32(math.sqrt(len(detunes)))
    bellows = np.clip(np.arange(n, dtype=np.float32) / np.float32(0.3 * RATE), 0, 1)
    swell = np.float32(0.85) + np.float32(0.15) * bellows
    return x * swell * adsr(n, held, 0.035, 1.0, 0.95, 0.1)


def _voice(f, held, b, tone):
    n = _length(held, 0.25)
    table = _table("voice", b, _pitch_key(f))
    singers = (0.0, 9.0, -8.0) if tone.players >= 2 else (0.0,)
    x = np.zeros(n, dtype=np.float32)
    for i, cents in enumerate(singers):
        x += table.read(phase_steps(f * _cents(cents), n, vibrato=(5.1 + 0.3 * i, 0.011, 0.3)), f)
    x /= np.float32(math.sqrt(len(singers)))
    breath = filtered(noise(n, int(f * 19)), biquad("bandpass", 3000, 1.5)) * np.float32(0.012)
    return (x + breath) * adsr(n, held, 0.12, 1.5, 0.9, 0.25)


#: Mallet partials (ratio, amplitude, decay as a fraction of the fundamental's):
#: a wooden bar at brightness 0 and a steel pan at 1, blended in between.
_MARIMBA = ((1.0, 1.0, 1.0), (3.93, 0.35, 0.25), (9.87, 0.12, 0.08))
_STEEL_PAN = ((1.0, 1.0, 1.0), (2.0, 0.75, 0.7), (3.0, 0.4, 0.45), (4.02, 0.18, 0.3), (5.04, 0.08, 0.2))


def _mallet(f, held, b, tone):
    metal = float(np.clip((b - 0.35) / 0.4, 0.0, 1.0))
    tau = float(np.clip((0.35 + 0.8 * metal) * (300.0 / f) ** 0.3, 0.12, 1.5))
    n = int(4.0 * tau * RATE)  # -35 dB: the rest is lost under the next notes
    x = np.zeros(n, dtype=np.float32)
    for partials, weight in ((_MARIMBA, 1.0 - metal), (_STEEL_PAN, metal)):
        if weight <= 0.0:
            continue
        for ratio, amplitude, fraction in partials:
            if ratio * f >= 0.45 * RATE:
                continue
            x += sine(phase_steps(ratio * f, n)) * decay(n, tau * fraction) * np.float32(weight * amplitude)
    x[-480:] *= np.linspace(1, 0, 480, dtype=np.float32)
    strike = _strike(n, int(f * 23), biquad("bandpass", 3000 + 3000 * metal, 1.0), 0.002, 0.4)
    x[:len(strike)] += strike
    x[:48] *= np.linspace(0, 1, 48, dtype=np.float32)
    return x


def _synth_lead(f, held, b, tone):
    n = _length(held, 0.12)
    p1 = phase_steps(f * _cents(6), n, vibrato=(5.5, 0.004, 0.45))
    p2 = phase_steps(f * _cents(-6), n, vibrato=(5.5, 0.004, 0.45))
    saw, square = _table("saw", b), _table("square", b)
    x = np.float32(0.5 + 0.3 * b) * saw.read(p1, f) + np.float32(0.5 - 0.3 * b) * square.read(p2, f)
    x = filtered(x, biquad("lowpass", 1500 + 7000 * b, 0.9))
    return x * adsr(n, held, 0.006, 0.6, 0.75, 0.12)


def _synth_pad(f, held, b, tone):
    n = _length(held, 0.9)
    table = _table("pad", b, _pitch_key(f))
    x = np.zeros(n, dtype=np.float32)
    for cents in (0.0, 12.0, -11.0):
        x += table.read(phase_steps(f * _cents(cents), n), f)
    x /= np.float32(math.sqrt(3))
    return x * adsr(n, held, 0.35 + 0.4 * (1 - b), 2.0, 0.9, 0.9)


def _synth_bass(f, held, b, tone):
    n = _length(held, 0.05)
    p = phase_steps(f, n)
    bright, body = _table("bass_bright", b, _pitch_key(f)), _table("bass_body", b, _pitch_key(f))
    xf = decay(n, 0.06 + 0.12 * b)
    x = xf * bright.read(p, f) + (1 - xf) * body.read(p, f)
    x = x + np.float32(0.4) * sine(phase_steps(f / 2 if f > 80 else f, n))  # a sub an octave down
    x = filtered(x, biquad("lowpass", 1200 + 3000 * b, 0.7))
    return x * adsr(n, held, 0.003, 0.4, 0.8, 0.05)


_FAMILIES = {
    "piano": _piano, "electric_piano": _electric_piano, "organ": _organ, "guitar_clean": _guitar_clean,
    "guitar_distorted": _guitar_distorted, "plucked": _plucked, "bowed": _bowed, "brass": _brass,
    "woodwind": _woodwind, "reed": _reed, "voice": _voice, "mallet": _mallet, "synth_lead": _synth_lead,
    "synth_pad": _synth_pad, "synth_bass": _synth_bass,
}
assert set(_FAMILIES) == set(PITCHED)


# -- drums ------------------------------------------------------------------------------------

def render_drum(piece: str, kit: Kit) -> np.ndarray:
    """One hit of a drum piece in a kit (normalised to a common peak; velocity is the mixer's)."""
    if piece not in DRUM_PIECES:
        raise ValueError(f"unknown drum piece {piece!r}; choose one of: {', '.join(DRUM_PIECES)}")
    return note_cache.get(("drum", piece, kit), lambda: _drum(piece, kit))


def _membrane(seconds: float, start_hz: float, end_hz: float, sweep: float, tau: float) -> np.ndarray:
    n = int(seconds * RATE)
    ratio = start_hz / end_hz
    return sine(phase_steps(end_hz, n, glide=(ratio, sweep))) * decay(n, tau)


def _noise_hit(seconds: float, tau: float, seed: int, *stages) -> np.ndarray:
    n = int(seconds * RATE)
    x = noise(n, seed)
    if stages:
        x = filtered(x, _dsp.cascade(*stages))
    return x * decay(n, tau)


def _metal(seconds: float, tau: float, base: float, seed: int, wash: tuple[float, float] | None = None) -> np.ndarray:
    """Six square-ish oscillators at inharmonic ratios, as analogue hi-hats and cymbals are made.

    ``wash`` (level, seconds) adds a quiet, slow tail under the strike, as a ride's stick ping
    falls within a few tens of milliseconds to a wash some 20 dB down that rings on for seconds.
    """
    n = int(seconds * RATE)
    x = np.zeros(n, dtype=np.float32)
    for ratio in (1.0, 1.4471, 1.6170, 1.9265, 2.5028, 2.6637):
        x += np.sign(sine(phase_steps(base * ratio, n)))
    x = filtered(x, _dsp.cascade(biquad("highpass", 4000), biquad("lowpass", 8500, 0.6))) * np.float32(0.3)
    hiss = _noise_hit(seconds, tau * 2, seed, biquad("highpass", 5000), biquad("lowpass", 9000, 0.6))
    envelope = decay(n, tau)
    if wash is not None:
        level, ring = wash
        envelope += np.float32(level) * decay(n, ring)
    return (x + hiss * np.float32(0.5)) * envelope


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[:min(n, len(x))] = x[:n]
    return out


def _drum(piece: str, kit: Kit) -> np.ndarray:
    b, g, kind = kit.brightness, kit.grit, kit.kind
    if piece == "kick":
        # Every kick has an attack a listener hears on small speakers too: a short knock
        # around 200 Hz and a click of the beater (the "punch" engineers dial in).
        knock = _membrane(0.04, 260, 190, 0.01, 0.012)
        if kind == "electronic":  # long and boomy when dark (an 808), short and punchy when bright (a 909)
            x = _membrane(0.9, 170 + 120 * b, kit.tuned(41.0), 0.028, 0.13 - 0.06 * b) * np.float32(0.7)
            x[:len(knock)] += knock * np.float32(0.35 + 0.25 * b)
            x[:480] += _noise_hit(0.01, 0.003, 11, biquad("bandpass", 3500, 0.6)) * np.float32(1.0 + 0.5 * b)
        elif kind == "acoustic":
            x = _membrane(0.5, 125, kit.tuned(49.0), 0.02, 0.08)
            x[:len(knock)] += knock * np.float32(0.35)
            x[:1200] += _noise_hit(0.025, 0.004, 12, biquad("bandpass", 3000 + 1500 * b, 0.6)) * np.float32(1.3)
        else:  # a frame drum or djembe bass: a soft, low membrane
            x = _membrane(0.5, 110, kit.tuned(62.0), 0.03, 0.14)
    elif piece == "snare":
        if kind == "hand":  # a conga or djembe slap
            x = _pad(_membrane(0.25, 420, 350, 0.01, 0.04), int(0.25 * RATE))
            x += _noise_hit(0.25, 0.03, 21, biquad("bandpass", 2500, 0.8)) * np.float32(0.8)
        else:
            # Tone and wires die within a beat, as a struck snare's do: a longer ring is heard as a
            # held note (a line over the chords), and rattling wires between the hits fill the
            # spectrum under clean instruments as distortion would.
            ring = _pad(_membrane(0.3, 340, 330, 0.02, 0.025), int(0.4 * RATE))
            tone = _membrane(0.4, 220, 185, 0.02, 0.035) + ring * np.float32(0.3)
            wires = _noise_hit(0.4, 0.04 if kind == "electronic" else 0.045, 22,
                               biquad("highpass", 1000), biquad("lowpass", 4500 + 4000 * b, 0.6))
            x = tone * np.float32(0.9) + wires * np.float32(0.6 + 0.3 * b)
    elif piece == "clap":
        n = int(0.35 * RATE)
        source = filtered(noise(n, 31), _dsp.cascade(biquad("bandpass", 1200, 0.9)))
        env = np.zeros(n, dtype=np.float32)
        for ms in (0.0, 9.0, 18.0, 27.0):
            start = int(ms * RATE / 1000)
            env[start:] += decay(n - start, 0.004)
        env[int(0.027 * RATE):] += decay(n - int(0.027 * RATE), 0.045) * np.float32(0.5)
        x = source * env
    elif piece == "hat":
        if kind == "hand":  # a shaker stands in for the hat
            x = _shaker(b)
        else:
            x = _metal(0.2, 0.035 if kind == "electronic" else 0.05, 300 + 80 * b, 41)
    elif piece == "open_hat":
        x = _metal(0.8, 0.25, 300 + 80 * b, 42)
    elif piece == "ride":
        # A ping and a quiet wash: one long even decay (the old ride's 0.45 s) piles up into a
        # steady hiss at fast tempi, under which no hit of the kit is heard as a hit, and the
        # bell's tone, left ringing, is heard as a held note.
        n = int(1.5 * RATE)
        bell = sine(phase_steps(3100, n)) * decay(n, 0.08) * np.float32(0.3)
        x = _metal(1.5, 0.04, 420, 43, wash=(0.1, 1.0)) + bell
    elif piece == "crash":
        x = _metal(2.5, 0.9, 360, 44) + _noise_hit(2.5, 0.7, 45, biquad("highpass", 3000),
                                                    biquad("lowpass", 9000, 0.6)) * np.float32(0.6)
    elif piece in ("tom_low", "tom_high"):
        high = piece == "tom_high"
        end = kit.tuned(110.0, 7) if high else kit.tuned(75.0)
        x = _membrane(0.6, end * 1.2, end, 0.03, 0.22)
    elif piece == "rim":
        x = _membrane(0.06, 1700, 1650, 0.01, 0.012) + _noise_hit(0.06, 0.005, 51, biquad("highpass", 2000))
    elif piece == "shaker":
        x = _shaker(b)
    elif piece == "perc_low":  # a low conga (or the tabla's bass)
        end = kit.tuned(160.0)
        x = _membrane(0.5, end * 1.2, end, 0.015, 0.16)
        x[:600] += _noise_hit(600 / RATE, 0.003, 61, biquad("bandpass", 1500, 1.0)) * np.float32(0.4)
    else:  # perc_high: a high conga or bongo ringing with harmonics, like a tabla's "na"
        n = int(0.5 * RATE)
        f = kit.tuned(300.0 + 100 * b, 7)
        x = sine(phase_steps(f, n, glide=(1.04, 0.01))) * decay(n, 0.12) \
            + sine(phase_steps(2 * f, n)) * decay(n, 0.08) * np.float32(0.4) \
            + sine(phase_steps(3 * f, n)) * decay(n, 0.05) * np.float32(0.2)
        x[:300] += _noise_hit(300 / RATE, 0.002, 62, biquad("highpass", 2500)) * np.float32(0.5)
    x = np.asarray(x, dtype=np.float32)
    if g > 0.2:
        x = _crunched(x, saturate(x * np.float32(1 + 3 * g), 1.0 + 10.0 * (g - 0.2) ** 2))
    peak = float(np.abs(x).max())
    return (x / np.float32(peak) if peak > 0 else x).astype(np.float32)


def _crunched(clean: np.ndarray, saturated: np.ndarray) -> np.ndarray:
    """The saturated hit with the clean hit's decay: distortion adds harmonics but must not add
    sustain, or a gritty kit's kick and snare hold their level between the hits and are heard as
    a steady tone rather than as drums (a punk kit alone read 4% percussive, a clean one 19%)."""
    window = np.ones(int(0.005 * RATE), dtype=np.float32) / np.float32(0.005 * RATE)
    before = np.sqrt(np.convolve(clean * clean, window, mode="same"))
    after = np.sqrt(np.convolve(saturated * saturated, window, mode="same"))
    return (saturated * (before / np.maximum(after, np.float32(1e-6)))).astype(np.float32)


def _shaker(b: float) -> np.ndarray:
    n = int(0.12 * RATE)
    x = filtered(noise(n, 71), biquad("bandpass", 5500 + 2500 * b, 1.2))
    env = np.clip(np.arange(n, dtype=np.float32) / np.float32(0.012 * RATE), 0, 1) * decay(n, 0.03)
    return x * env
