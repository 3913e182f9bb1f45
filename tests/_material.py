"""The test sets the audio analysis is checked on: pieces with known answers and the studio
treatments (reverb, wear, saturation) applied to their renders.

Shared by ``tests/test_builtin_analysis_fluidsynth.py`` (which asserts) and
``benchmarks/analysis_accuracy.py`` (which prints the figures in
docs/builtin-analysis.md), so both measure the same material.
"""

from __future__ import annotations

import itertools

import numpy as np
from _midi import (
    CLAVES,
    CLOSED_HAT,
    DRUMS,
    KICK,
    PROGRAMS,
    SIDE_STICK,
    SNARE,
    Note,
    Piece,
    bass_line,
    chords,
    drone,
    drums,
    melody,
)
from scipy.signal import butter, fftconvolve, sosfilt

RATE = 48000

#: Drum-kit grooves at the tempi the issue names: (groove, BPM).
GROOVE_TEMPI = (("boom bap", 70), ("boom bap", 90), ("house", 120), ("rock", 150), ("drum and bass", 174))

#: Instruments the key set cycles through (a flute melody plays over each, a violin over the flute).
KEY_INSTRUMENTS = ("piano", "strings", "organ", "nylon guitar", "electric piano", "choir", "brass", "vibraphone",
                   "clean guitar", "flute", "distorted guitar", "marimba")


def groove(name: str, bpm: float, swing: float = 0.5) -> Piece:
    """About 12 s of a groove."""
    return drums(name, bpm, bars=int(np.ceil(12 * bpm / 240)), swing=swing)


def keys() -> list[tuple[int, str, str, Piece]]:
    """(tonic, mode, instrument, piece) in all 24 keys: a progression with its bass line and a
    tune, over a rock beat in every third key."""
    out = []
    for i, (tonic, mode) in enumerate(itertools.product(range(12), ("major", "minor"))):
        instrument = KEY_INSTRUMENTS[i % len(KEY_INSTRUMENTS)]
        piece = (chords(tonic, mode, instrument, 100, bars=4, per_bar=2) + bass_line(tonic, mode, bpm=100, bars=4)
                 + melody(tonic, mode, "violin" if instrument == "flute" else "flute", 100, bars=4, seed=i))
        if i % 3 == 0:
            piece = piece + drums("rock", 100, bars=4)
        out.append((tonic, mode, instrument, piece))
    return out


def band(bpm: float = 110, bars: int = 5) -> dict[str, Piece]:
    """The parts of a band in A minor, rendered apart so that tests can mix them at any balance."""
    return {
        "drums": drums("rock", bpm, bars=bars),
        "bass": bass_line(9, "minor", "bass", bpm, bars=bars, per_beat=2),
        "harmony": chords(9, "minor", "electric piano", bpm, bars=bars, per_bar=2, octave=4),
        "lead": melody(9, "minor", "alto sax", bpm, bars=bars, per_beat=2, octave=5),
    }


def mix(parts: dict[str, np.ndarray], gains: dict[str, float] | None = None) -> np.ndarray:
    """Parts at equal loudness (times their ``gains``), summed and scaled to -16 dBFS RMS."""
    gains = gains or {}
    length = min(len(p) for p in parts.values())
    total = sum(p[:length] / np.sqrt(np.mean(p[:length].astype(np.float64) ** 2)) * gains.get(name, 1.0)
                for name, p in parts.items())
    return level(total)


def level(audio: np.ndarray, db: float = -16.0) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    return (audio * 10 ** (db / 20) / max(float(np.sqrt(np.mean(audio ** 2))), 1e-12)).astype(np.float32)


def tune(per_beat: float, instrument: str = "piano", octave: int = 5) -> Piece:
    """A tune at 100 BPM with ``per_beat`` notes a beat."""
    return melody(0, "major", instrument, 100, bars=4, octave=octave, per_beat=per_beat)


def accompaniment() -> Piece:
    """Piano chords, a bass and a flute tune at 96 BPM: the material the room and wear are added to."""
    return (chords(2, "major", "piano", 96, bars=5, per_bar=2) + bass_line(2, "major", "acoustic bass", 96, bars=5)
            + melody(2, "major", "flute", 96, bars=5, per_beat=1))


def room(audio: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """The audio in a synthetic room: decorrelated exponentially decaying noise in each ear
    (``seconds`` to fall 60 dB) after the direct sound."""
    rng = np.random.default_rng(seed)
    length = int(seconds * 1.2 * RATE)
    decay = np.exp(-6.9 * np.arange(length) / RATE / seconds)
    out = []
    for channel in range(audio.shape[1]):
        response = rng.normal(0.0, 1.0, length) * decay
        response[0] = 8.0
        out.append(fftconvolve(audio[:, channel], response)[:len(audio)])
    return level(np.stack(out, axis=1))


def worn(audio: np.ndarray, cutoff: float | None, hiss_db: float | None = None, crackle: float = 0.0,
         seed: int = 0) -> np.ndarray:
    """Tape and vinyl wear: a band limit (6th-order low-pass at ``cutoff`` and 150 Hz high-pass),
    hiss ``hiss_db`` below the music, ``crackle`` clicks a second."""
    rng = np.random.default_rng(seed)
    out = np.asarray(audio, dtype=np.float64)
    if cutoff:
        out = sosfilt(butter(6, cutoff, "low", fs=RATE, output="sos"), out, axis=0)
        out = sosfilt(butter(2, 150, "high", fs=RATE, output="sos"), out, axis=0)
    rms = float(np.sqrt(np.mean(out ** 2)))
    if hiss_db is not None:
        hiss = sosfilt(butter(2, [300, 12000], "band", fs=RATE, output="sos"), rng.normal(0, 1, out.shape), axis=0)
        out = out + hiss / np.sqrt(np.mean(hiss ** 2)) * rms * 10 ** (hiss_db / 20)
    if crackle:
        count = int(crackle * len(out) / RATE)
        at = rng.integers(0, len(out), count)
        out[at] += rng.normal(0.0, 3.0, (count, out.shape[1])) * rms
    return level(out)


def saturated(audio: np.ndarray, drive: float) -> np.ndarray:
    """Hard-driven tanh saturation, ``drive`` times into the curve at the peak."""
    audio = np.asarray(audio, dtype=np.float64)
    return level(np.tanh(drive * audio / np.abs(audio).max()))


def guitar_chords(program: str, shape: str = "power") -> Piece:
    """Guitar chords on every beat in E, with bass and a rock beat."""
    return (chords(4, shape, program, 120, bars=4, per_bar=4, octave=3)
            + bass_line(4, shape, "bass", 120, bars=4, per_beat=2) + drums("rock", 120, bars=4))


def _hits(bpm: float, bars: int, spec) -> Piece:
    notes = [Note(4 * bar + p, 0.2, key, velocity, DRUMS) for bar in range(bars) for key, positions, velocity in spec
             for p in positions]
    return Piece(bpm, tuple(notes))


def _stabs(bpm: float, bars: int, positions, program: str, velocity: int = 105) -> Piece:
    notes = tuple(Note(4 * b + o, 0.2, 60 + i, velocity, 0) for b in range(bars) for o in positions for i in (0, 4, 7))
    return Piece(bpm, notes, {0: PROGRAMS[program]})


def syncopated(bpm: float = 110, bars: int = 6) -> dict[str, Piece]:
    """Grooves from straight to syncopated."""
    hats = (CLOSED_HAT, np.arange(0, 4, 0.5), 60)
    bass = bass_line(7, "major", "bass", bpm, bars=bars, per_beat=1)
    return {
        "four on the floor": _hits(bpm, bars, [(KICK, (0, 1, 2, 3), 115), hats]) + bass,
        "rock": _hits(bpm, bars, [(KICK, (0, 2), 115), (SNARE, (1, 3), 110), hats]) + bass,
        "off-beat skank": (_hits(bpm, bars, [(KICK, (2,), 110), (SIDE_STICK, (2,), 100)]) + bass
                           + _stabs(bpm, bars, (0.5, 1.5, 2.5, 3.5), "clean guitar")),
        "son clave": _hits(bpm, bars, [(CLAVES, (0, 0.75, 1.5, 2.5, 3), 110), (KICK, (0, 2), 90)]),
        "funk": (_hits(bpm, bars, [(KICK, (0, 0.75, 2.5), 115), (SNARE, (1, 3), 110),
                                   (CLOSED_HAT, np.arange(0, 4, 0.25), 50)])
                 + _stabs(bpm, bars, (0.25, 1.75, 2.75), "clean guitar", 100)),
        # The push is in the bass alone: the drums keep the beat with sixteenth hats.
        "funk bass, straight drums": (_hits(bpm, bars, [(KICK, (0, 2), 115), (SNARE, (1, 3), 110),
                                                        (CLOSED_HAT, np.arange(0, 4, 0.25), 60)])
                                      + _bass(bpm, bars, (0, 0.75, 1.75, 2.5, 3.25))),
    }


def _bass(bpm: float, bars: int, positions, velocity: int = 110) -> Piece:
    notes = tuple(Note(4 * b + o, 0.2, 40 + (7 if i % 2 else 0), velocity, 1)
                  for b in range(bars) for i, o in enumerate(positions))
    return Piece(bpm, notes, {1: PROGRAMS["bass"]})


def calm_and_driving() -> dict[str, Piece]:
    """From calm to driving, to be compared at one loudness."""
    return {
        "pad drone": drone(48, "warm pad", 70, 12) + drone(55, "warm pad", 70, 12, channel=4),
        "slow flute": melody(0, "major", "flute", 70, bars=3, per_beat=0.5),
        "piano ballad": chords(0, "major", "piano", 70, bars=3, velocity=60),
        "pop band": (chords(0, "major", "electric piano", 110, bars=4, per_bar=2)
                     + bass_line(0, "major", bpm=110, bars=4, per_beat=2) + drums("rock", 110, bars=4)
                     + melody(0, "major", "square lead", 110, bars=4)),
        "rock band": (chords(4, "power", "distorted guitar", 150, bars=6, per_bar=8, octave=3)
                      + bass_line(4, "power", bpm=150, bars=6, per_beat=2) + drums("rock", 150, bars=6)),
        "techno": drums("house", 130, bars=6) + bass_line(9, "minor", "synth bass", 130, bars=6, per_beat=4),
    }
