"""The click model: a deterministic metronome for tests and timing checks.

Every beat of the engine's tempo clock starts a click on the first sample at or
after the beat's exact time; the downbeat of each bar is accented. The click's
pitch, accent, decay, level and noise come from the style, so a test can find
every control change in the output to the sample: render twice, once with the
change and once without, and the outputs first differ at the change's sample.

Its style space (``click/1``) has five readable dimensions:

========  ===================================================  =========
pitch     MIDI note number of the click (69 = A4 = 440 Hz)     69
accent    semitones added on the first beat of a bar           12
decay     envelope time constant in seconds                    0.012
level     peak amplitude                                       0.5
noise     share of seeded noise mixed into each click (0..1)   0
========  ===================================================  =========

Text embeds as follows: a note name (``"C#5"``), a frequency (``"440 Hz"``) or
``"midi 60"`` sets the pitch exactly; any other word is hashed to a pitch
between MIDI 48 and 84, and several words average. Audio embeds by analysis:
the strongest spectral peak gives the pitch, the peak amplitude the level and
the spectral flatness the noise.

Held notes (``engine.note_on``) pin the pitch: while any is held, clicks
sound the lowest held note instead of the style's pitch.

The output does not depend on how the engine splits blocks: phase and envelope
are computed from each click's absolute onset, never accumulated sample by
sample, which is what makes replay bit-exact.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from ..audio import AudioClip
from ..style import Style, StyleSpace
from ..tempo import Segment, TempoMap
from .base import Backend, BlockRequest, Capabilities

__all__ = ["ClickBackend", "ClickState", "CLICK_SPACE"]

CLICK_SPACE = StyleSpace("click/1", 5, ("pitch", "accent", "decay", "level", "noise"))
_DEFAULT = (69.0, 12.0, 0.012, 0.5, 0.0)
_TAPER = 64  # frames of linear fade at each click's end, so clicks never end on a step
_MIN_DECAY, _MAX_DECAY = 0.001, 0.2

_NOTE = re.compile(r"^([a-g])([#b]?)(-?\d)$")
_HERTZ = re.compile(r"^(\d+(?:\.\d+)?)\s*hz$")
_MIDI = re.compile(r"^midi\s+(\d+(?:\.\d+)?)$")
_SEMITONE = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def _hz_to_midi(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def _word_pitch(word: str) -> float:
    digest = hashlib.sha256(word.encode()).digest()
    return 48.0 + digest[0] % 36


@dataclass(frozen=True)
class ClickState:
    """The click now sounding, if any (all positions in absolute samples)."""

    onset: Fraction | float | None = None  # the beat's exact time
    first: int = 0                 # the first sample at or after it, where the click starts
    beat: int = 0                  # which beat the click belongs to
    length: int = 0                # frames from the first click sample to its end
    anchor: int = 0                # sample where ``phase`` holds ...
    phase: float = 0.0             # ... and from which it advances at ``freq``
    freq: float = 0.0


class ClickBackend(Backend):
    """A metronome with a style. Deterministic, sample-accurate, any block size."""

    name = "click"
    block_size = 1920
    capabilities = Capabilities(tempo_lock=True, variable_blocks=True, notes=True, audio_prompts=True,
                                sampling=frozenset({"seed"}))
    style_space = CLICK_SPACE

    def default_style(self) -> Style:
        return Style(_DEFAULT, CLICK_SPACE, "A4 click")

    def style_for(self, *, pitch: float = 69.0, accent: float = 12.0, decay: float = 0.012,
                  level: float = 0.5, noise: float = 0.0) -> Style:
        """A style from its five dimensions, for tests and examples."""
        return Style((pitch, accent, decay, level, noise), CLICK_SPACE, f"click {pitch:g}")

    # -- embedding --------------------------------------------------------------
    def embed_text(self, text: str) -> Style:
        phrase = " ".join(re.sub(r"[^\w#.\s-]", " ", text.lower()).split())
        pitch = self._exact_pitch(phrase)
        if pitch is None:
            words = phrase.split() or [phrase]
            exact = [self._exact_pitch(w) for w in words]
            pitch = float(np.mean([p if p is not None else _word_pitch(w) for p, w in zip(exact, words, strict=True)]))
        return replace_pitch(self.default_style(), pitch, text)

    @staticmethod
    def _exact_pitch(phrase: str) -> float | None:
        if match := _NOTE.match(phrase):
            letter, accidental, octave = match.groups()
            shift = {"#": 1, "b": -1}.get(accidental, 0)
            return float(12 * (int(octave) + 1) + _SEMITONE[letter] + shift)
        if match := _HERTZ.match(phrase):
            hz = float(match.group(1))
            return _hz_to_midi(hz) if hz > 0 else None
        if match := _MIDI.match(phrase):
            return float(match.group(1))
        return None

    def embed_audio(self, clip: AudioClip) -> Style:
        mono = clip.mono().astype(np.float64)
        spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) if len(mono) > 1 else np.zeros(2)
        spectrum[0] = 0.0  # DC is not a pitch
        peak = int(np.argmax(spectrum))
        if peak == 0 or spectrum[peak] == 0.0:
            pitch = _DEFAULT[0]
        else:
            # A parabola through the peak bin and its neighbours refines the frequency.
            left, mid, right = (spectrum[max(peak - 1, 0)], spectrum[peak],
                                spectrum[min(peak + 1, len(spectrum) - 1)])
            denom = left - 2 * mid + right
            offset = 0.5 * (left - right) / denom if denom != 0 else 0.0
            hz = (peak + offset) * clip.sample_rate / len(mono)
            pitch = float(np.clip(_hz_to_midi(max(hz, 1.0)), 0.0, 127.0))
        power = spectrum[1:] ** 2 + 1e-20
        flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
        level = float(min(np.max(np.abs(mono)), 1.0))
        vector = (pitch, _DEFAULT[1], _DEFAULT[2], level, min(flatness, 1.0))
        return Style(vector, CLICK_SPACE, "audio")

    # -- streaming --------------------------------------------------------------
    def initial_state(self) -> ClickState:
        return ClickState()

    def step(self, state: ClickState, request: BlockRequest) -> tuple[np.ndarray, ClickState]:
        controls = request.controls
        pitch, accent, decay, level, noise = (controls.style or self.default_style()).vector
        if controls.notes:  # held notes pin the pitch: the lowest one sounds
            pitch = float(min(controls.notes))
        decay = float(np.clip(decay, _MIN_DECAY, _MAX_DECAY))
        level, noise = float(level), float(np.clip(noise, 0.0, 1.0))
        rate = self.sample_rate
        start, end = request.start, request.start + request.frames
        tempo = request.tempo
        if tempo is None:  # no map given: a steady tempo anchored at this block's beat
            tempo = TempoMap(sample_rate=rate, _segments=(Segment(Fraction(start), request.beat, controls.bpm),))

        def frequency(beat: int) -> float:
            semitones = pitch + (accent if beat % controls.beats_per_bar == 0 else 0.0)
            return 440.0 * 2.0 ** ((semitones - 69.0) / 12.0)

        # Regions of this block, each sounding one click (or none): the click
        # carried in from the last block, then one per beat that starts here.
        regions: list[tuple[int, ClickState]] = []
        if state.onset is not None:
            regions.append((start, state))
        beat = 0 if start == 0 else math.floor(tempo.beat_at(start - 1)) + 1  # first beat heard at >= start
        first_sample = tempo.sample_of(beat)
        while first_sample < end:
            onset = tempo.exact_sample_of(beat)
            following = tempo.sample_of(beat + 1)
            length = min(int(decay * rate * 7), following - first_sample - 1)
            freq = frequency(beat)
            phase = 2.0 * math.pi * freq * float(first_sample - onset) / rate
            regions.append((first_sample, ClickState(onset, first_sample, beat, length, first_sample, phase, freq)))
            beat, first_sample = beat + 1, following

        out = np.zeros((request.frames, self.channels), dtype=np.float32)
        for index, (begin, click) in enumerate(regions):
            stop = regions[index + 1][0] if index + 1 < len(regions) else end
            freq = frequency(click.beat)
            if freq != click.freq:
                # Re-anchor one sample back: the phase runs on without a jump, and
                # the new pitch already drives the step into ``begin``, so the
                # change is audible on its exact sample.
                anchor = begin - 1
                phase = click.phase + 2.0 * math.pi * click.freq * (anchor - click.anchor) / rate
                click = replace(click, anchor=anchor, phase=phase, freq=freq)
                regions[index] = (begin, click)
            self._render_click(out[begin - start:stop - start, 0], begin, click, decay, level,
                               noise, controls.seed)
        out[:, 1] = out[:, 0]

        if not regions:
            return out, state
        last = regions[-1][1]
        sounding = last.first + last.length > end
        return out, (last if sounding else ClickState())

    def _render_click(self, out: np.ndarray, begin: int, click: ClickState, decay: float,
                      level: float, noise: float, seed: int) -> None:
        first_sample = click.first
        ages = np.arange(begin - first_sample, begin - first_sample + len(out))
        audible = ages < click.length
        if not audible.any():
            return
        ages = ages[audible]
        exact_age = (ages + float(first_sample - click.onset)) / self.sample_rate
        envelope = level * np.exp(-exact_age / decay)
        tail = click.length - ages
        envelope *= np.minimum(tail / _TAPER, 1.0)
        positions = ages + (first_sample - click.anchor)
        tone = np.cos(click.phase + 2.0 * math.pi * click.freq * positions / self.sample_rate)
        if noise > 0.0:
            grain = np.random.default_rng([seed & 0xFFFFFFFF, click.beat & 0xFFFFFFFF])
            tone = (1.0 - noise) * tone + noise * grain.standard_normal(click.length)[ages]
        out[:len(ages)] = envelope * tone


def replace_pitch(style: Style, pitch: float, label: str) -> Style:
    vector = np.array(style.vector)
    vector[0] = pitch
    return Style(vector, style.space, label)
