"""Test music with known answers, written as Standard MIDI Files.

The audio analysis is checked on music no part of the engine made: pieces
written here note by note (so their tempo, key, swing, density and
instrumentation are known exactly) and rendered by FluidSynth with the
General MIDI soundfont (``_fluidsynth.py``). A :class:`Piece` is a list of
notes on a beat grid, the General MIDI program of each channel and the tempo;
``Piece.midi()`` writes it as a format 0 file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

import numpy as np

TICKS = 480  # per quarter note
DRUMS = 9    # General MIDI's channel 10, counted from 0

#: General MIDI programs (counted from 0) by name.
PROGRAMS = {
    "piano": 0, "electric piano": 4, "vibraphone": 11, "marimba": 12, "organ": 16, "rock organ": 18,
    "nylon guitar": 24, "steel guitar": 25, "clean guitar": 27, "muted guitar": 28, "overdriven guitar": 29,
    "distorted guitar": 30, "acoustic bass": 32, "bass": 33, "synth bass": 38, "violin": 40, "cello": 42,
    "strings": 48, "slow strings": 49, "choir": 52, "trumpet": 56, "brass": 61, "alto sax": 65, "oboe": 68,
    "clarinet": 71, "flute": 73, "square lead": 80, "saw lead": 81, "warm pad": 89, "halo pad": 94,
}

#: General MIDI drum keys.
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, RIDE, CRASH = 36, 37, 38, 39, 42, 46, 51, 49
LOW_CONGA, HIGH_CONGA, CLAVES, SHAKER = 64, 63, 75, 70

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor: the leading tone of the dominant chord


@dataclass(frozen=True)
class Note:
    beat: float        # start, in quarter notes from the piece's start
    length: float      # in quarter notes
    pitch: int
    velocity: int = 90
    channel: int = 0


@dataclass(frozen=True)
class Piece:
    """Notes at a fixed tempo, with a General MIDI program for each channel."""

    bpm: float
    notes: tuple[Note, ...]
    programs: dict[int, int] = field(default_factory=dict)
    #: Reverb send (controller 91) for every channel, 0..127: FluidSynth's reverb only
    #: hears what is sent to it.
    reverb_send: int = 0

    @property
    def beats(self) -> float:
        return max(n.beat + n.length for n in self.notes)

    @property
    def seconds(self) -> float:
        return self.beats * 60.0 / self.bpm

    def __add__(self, other: Piece) -> Piece:
        """Both pieces at once (the first one's tempo): a band from its parts."""
        return replace(self, notes=self.notes + other.notes, programs={**self.programs, **other.programs})

    def midi(self) -> bytes:
        events: list[tuple[int, int, bytes]] = []  # (tick, order, message): note-offs before note-ons
        events.append((0, 0, b"\xff\x51\x03" + int(round(60e6 / self.bpm)).to_bytes(3, "big")))
        channels = sorted({n.channel for n in self.notes} | set(self.programs))
        for channel in channels:
            events.append((0, 0, bytes([0xB0 | channel, 91, self.reverb_send])))
            events.append((0, 0, bytes([0xB0 | channel, 93, 0])))  # no chorus: it would blur timing and width
            if channel in self.programs:
                events.append((0, 0, bytes([0xC0 | channel, self.programs[channel]])))
        for note in self.notes:
            on = int(round(note.beat * TICKS))
            off = max(on + 1, int(round((note.beat + note.length) * TICKS)))
            velocity = int(np.clip(note.velocity, 1, 127))
            events.append((on, 2, bytes([0x90 | note.channel, note.pitch, velocity])))
            events.append((off, 1, bytes([0x80 | note.channel, note.pitch, 0])))
        events.sort(key=lambda e: (e[0], e[1]))
        track, now = bytearray(), 0
        for tick, _, message in events:
            track += _variable_length(tick - now) + message
            now = tick
        track += _variable_length(0) + b"\xff\x2f\x00"
        return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS) + b"MTrk" + struct.pack(">I", len(track)) + track


def _variable_length(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def swung(position: float, ratio: float) -> float:
    """Where an eighth-note position lands when off-beats are played at ``ratio`` of the beat
    (0.5 straight, 2/3 triplet swing)."""
    beat, within = divmod(position, 1.0)
    return beat + (ratio if abs(within - 0.5) < 1e-9 else within)


# -- drums ------------------------------------------------------------------------------------------

#: One bar of each groove: (drum key, positions in beats, velocity).
GROOVES = {
    "boom bap": [(KICK, (0, 1.75, 2.5), 110), (SNARE, (1, 3), 110), (CLOSED_HAT, np.arange(0, 4, 0.5), 70)],
    "house": [(KICK, (0, 1, 2, 3), 115), (CLAP, (1, 3), 100), (OPEN_HAT, (0.5, 1.5, 2.5, 3.5), 80),
              (CLOSED_HAT, np.arange(0, 4, 0.25), 50)],
    "rock": [(KICK, (0, 2, 2.5), 115), (SNARE, (1, 3), 115), (CLOSED_HAT, np.arange(0, 4, 0.5), 80)],
    "drum and bass": [(KICK, (0, 2.5), 115), (SNARE, (1, 3), 115), (CLOSED_HAT, np.arange(0, 4, 0.5), 75)],
    "four on the floor": [(KICK, (0, 1, 2, 3), 115), (CLOSED_HAT, np.arange(0, 4, 0.5), 70)],
    "jazz ride": [(RIDE, (0, 1, 1.5, 2, 3, 3.5), 85), (KICK, (0, 2), 60), (SIDE_STICK, (1, 3), 70)],
}


def drums(groove: str, bpm: float, bars: int = 6, *, swing: float = 0.5, velocity: float = 1.0) -> Piece:
    notes = []
    for bar in range(bars):
        for key, positions, loudness in GROOVES[groove]:
            for position in positions:
                notes.append(Note(4 * bar + swung(float(position), swing), 0.25, key,
                                  int(loudness * velocity), DRUMS))
    return Piece(bpm, tuple(notes))


def pattern(positions: list[float], bpm: float, bars: int = 6, *, key: int = CLOSED_HAT, velocity: int = 95,
            accents: dict[float, int] | None = None) -> Piece:
    """One drum sound at the given positions of every bar (``accents`` overrides velocities)."""
    accents = accents or {}
    notes = [Note(4 * bar + p, 0.2, key, accents.get(p, velocity), DRUMS) for bar in range(bars) for p in positions]
    return Piece(bpm, tuple(notes))


# -- harmony ----------------------------------------------------------------------------------------

#: Chord shapes in semitones above the root.
CHORDS = {
    "power": (0, 7, 12),
    "major": (0, 4, 7), "minor": (0, 3, 7),
    "major7": (0, 4, 7, 11), "minor7": (0, 3, 7, 10), "dominant7": (0, 4, 7, 10),
    "major9": (0, 4, 7, 11, 14), "minor9": (0, 3, 7, 10, 14), "dominant13": (0, 4, 10, 14, 21),
}

#: Progressions as (scale degree counted from 0, chord shape).
PROGRESSIONS = {
    "major": [(0, "major"), (5, "minor"), (3, "major"), (4, "major")],
    "minor": [(0, "minor"), (5, "major"), (3, "minor"), (4, "major")],
    "power": [(0, "power"), (3, "power"), (4, "power"), (3, "power")],
    "triads": [(0, "major"), (3, "major"), (4, "major"), (0, "major")],
    "sevenths": [(1, "minor7"), (4, "dominant7"), (0, "major7"), (5, "minor7")],
    "ninths": [(1, "minor9"), (4, "dominant13"), (0, "major9"), (5, "minor9")],
}


def chords(tonic: int, progression: str, program: str, bpm: float = 100, bars: int = 4, *, channel: int = 0,
           octave: int = 4, per_bar: int = 1, velocity: int = 85, staccato: bool = False) -> Piece:
    """A progression in the key on ``tonic`` (0 = C), ``per_bar`` chords a bar, repeated."""
    mode = "minor" if progression == "minor" else "major"
    scale = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    steps = PROGRESSIONS[progression]
    notes = []
    length = 4 / per_bar
    for i in range(bars * per_bar):
        degree, shape = steps[i % len(steps)]
        root = 12 * (octave + 1) + tonic + scale[degree]
        root -= 12 if root > 12 * (octave + 1) + 7 else 0  # keep voicings near the tonic
        for interval in CHORDS[shape]:
            notes.append(Note(i * length, length * (0.25 if staccato else 0.98), root + interval, velocity, channel))
    return Piece(bpm, tuple(notes), {channel: PROGRAMS[program]})


def bass_line(tonic: int, progression: str, program: str = "bass", bpm: float = 100, bars: int = 4, *,
              channel: int = 1, per_beat: float = 1, velocity: int = 95) -> Piece:
    """The roots of a progression in the bass, ``per_beat`` notes a beat."""
    mode = "minor" if progression == "minor" else "major"
    scale = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    steps = PROGRESSIONS[progression]
    step = 1 / per_beat
    notes = [Note(b * step, step * 0.9, 36 + tonic + scale[steps[int(b * step // 4) % len(steps)][0]],
                  velocity, channel) for b in range(int(bars * 4 * per_beat))]
    return Piece(bpm, tuple(notes), {channel: PROGRAMS[program]})


def melody(tonic: int, mode: str, program: str, bpm: float = 100, bars: int = 4, *, channel: int = 2,
           per_beat: float = 2, seed: int = 0, octave: int = 5, velocity: int = 100, legato: float = 0.9) -> Piece:
    """A stepwise tune in the key that leans on the tonic triad, ``per_beat`` notes a beat."""
    rng = np.random.default_rng(seed)
    scale = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    degree, notes = 0, []
    step = 1 / per_beat
    count = int(bars * 4 * per_beat)
    for i in range(count):
        if i % int(4 * per_beat) == 0 or i == count - 1:
            degree = 7 * (degree // 7) + int(rng.choice([0, 2, 4]))  # bars start (and the tune ends) on the triad
        else:
            degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), -3, 9))
        pitch = 12 * (octave + 1) + tonic + 12 * (degree // 7) + scale[degree % 7]
        notes.append(Note(i * step, step * legato, pitch, velocity, channel))
    return Piece(bpm, tuple(notes), {channel: PROGRAMS[program]})


def drone(pitch: int, program: str, bpm: float, beats: float, *, channel: int = 3, velocity: int = 80) -> Piece:
    """One long note (a pad or a drone) for the whole piece."""
    return Piece(bpm, (Note(0, beats, pitch, velocity, channel),), {channel: PROGRAMS[program]})
