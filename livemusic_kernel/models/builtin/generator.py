"""The builtin model's stream: bars planned by the composer, notes started on
the beat grid, mixed, given a room, and mastered.

One call of :meth:`Generator.step` turns a block request into audio:

1. **Plan.** When the block reaches a new bar, the composer plans it; when the
   style has moved far since the current bar was planned (a prompt change, a
   morph's step), the rest of the bar is planned again from the next
   sixteenth, so a change is heard within a block.
2. **Fire.** Every sixteenth-note step whose time falls in the block starts
   its events: the step's exact sample comes from the engine's tempo map, plus
   swing (off-beat eighths and sixteenths move towards triplet positions) and,
   for acoustic line-ups, a few milliseconds of human timing. Each event
   becomes a :class:`Voice`: a rendered note (``instruments``), its start
   sample, gain and pan. Pitches are worked out now, from the key and chord
   in force, so a key change or held notes apply to the very next note.
3. **Mix.** Each voice adds the slice of its note that falls in the block to
   its layer's bus; the layers are summed with their gains (ramped over 20 ms
   when the style changes, so nothing clicks), and sent to the reverb.
4. **Master.** A tilt equaliser (brightness), saturation (grit), wear (lofi:
   band limits, hiss, crackle), a slow leveler towards a loudness set by the
   energy (-17 to -13 LUFS), a soft clipper and a peak limiter at -1.5 dBFS.

When the instrument that plays a layer changes (a new prompt), the notes that
layer is still sounding fade out over 30 ms, so the new timbre takes over at
once. The state is immutable: every step returns a new one, and the output
depends only on the state and the request, never on how the engine cuts the
stream into blocks (up to float rounding in the leveler and limiter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

from ...tempo import Segment, TempoMap
from ..base import BlockRequest
from . import _dsp
from .composer import (
    MOVED,
    PAD_FAMILIES,
    STEPS_PER_BEAT,
    BarPlan,
    Event,
    Memory,
    Sampling,
    choose_key,
    compose_bar,
    drum_pattern,
)
from .context import Context, Listener, ListenerState
from .feel import Feel, feel_of
from .instruments import DRUM_PIECES, Kit, Tone, render_drum, render_note
from .space import STEMS
from .theory import Chord, Key, chord_on, nearest_in, voice_chord

__all__ = ["Generator", "StreamState", "Voice", "LAYERS"]

RATE = _dsp.RATE
LAYERS = STEMS
_RAMP = int(0.02 * RATE)      # control changes glide over 20 ms
_CUT = int(0.03 * RATE)       # notes of a replaced instrument fade out over 30 ms

#: Where each drum piece sits in the stereo field (-1 left .. 1 right) and how much it feeds the room.
_DRUM_PAN = {"kick": 0.0, "snare": 0.0, "clap": 0.05, "hat": 0.25, "open_hat": 0.3, "ride": -0.3,
             "crash": -0.2, "tom_low": -0.3, "tom_high": 0.3, "rim": -0.15, "shaker": 0.45,
             "perc_low": -0.35, "perc_high": 0.35}
#: The layers a change of harmony re-strikes: bass, harmony and texture.
_HARMONIC_LAYERS = (1, 2, 4)
#: Drum pieces mixed below full level (relative to the kick and snare), as an engineer sets them:
#: cymbals and shakers sit 10 to 14 dB under the backbeat.
_DRUM_LEVEL = {"kick": 0.55, "hat": 0.16, "open_hat": 0.2, "shaker": 0.2, "ride": 0.22, "crash": 0.4, "rim": 0.5,
               "tom_low": 0.8, "tom_high": 0.8, "perc_low": 0.6, "perc_high": 0.55, "clap": 0.8}
_TIME_KEEPING = ("hat", "open_hat", "shaker", "ride")
#: Reverb send of each layer at full ``space``.
_SENDS = {"drums": 0.12, "bass": 0.05, "harmony": 0.8, "lead": 0.7, "texture": 1.0}
#: Each layer's gain at full stem level (the balance of a finished mix).
_LAYER_GAIN = {"drums": 1.1, "bass": 0.32, "harmony": 0.45, "lead": 0.55, "texture": 0.25}


@dataclass(frozen=True)
class Voice:
    """A note sounding: its rendered audio, where it starts, how loud and where."""

    audio: np.ndarray = field(repr=False)
    onset: int
    layer: int
    left: float
    right: float
    cut: int | None = None  # the sample where it starts fading out early, if it was replaced
    pitch: int | None = None  # the MIDI note (None for drums)
    piece: str | None = None  # the drum piece (None for notes)
    #: Frames the right channel lags the left: a few milliseconds give a note width (the Haas
    #: effect, as double-tracked guitars and stereo-miked pianos have) without moving it.
    width: int = 0

    @property
    def end(self) -> int:
        full = self.onset + len(self.audio) + self.width
        return full if self.cut is None else min(full, self.cut + _CUT)


@dataclass(frozen=True)
class Ramp:
    """A value gliding from ``start`` to ``end`` over ``_RAMP`` samples from ``at``."""

    start: float
    end: float
    at: int = 0

    def to(self, value: float, sample: int) -> Ramp:
        if value == self.end:
            return self
        return Ramp(self.value(sample), value, sample)

    def value(self, sample: int) -> float:
        t = min(max((sample - self.at) / _RAMP, 0.0), 1.0)
        return self.start + (self.end - self.start) * t

    def over(self, start: int, frames: int) -> float | np.ndarray:
        """The value for each sample of a block (a plain number while it holds still)."""
        if start >= self.at + _RAMP or self.start == self.end:
            return self.end
        t = np.clip((np.arange(start, start + frames) - self.at) / _RAMP, 0.0, 1.0)
        return (self.start + (self.end - self.start) * t).astype(np.float32)[:, None]


@dataclass(frozen=True)
class MixState:
    gains: tuple[Ramp, ...]
    sends: tuple[Ramp, ...]
    low: Ramp                  # tilt EQ: gain of the lows and of the highs added to the signal
    high: Ramp
    lofi: Ramp
    filters: np.ndarray        # states of the fixed filters: tilt low, tilt high, lofi lowpass, lofi highpass
    send_filter: np.ndarray    # state of the reverb send's highpass
    reverb: _dsp.ReverbState
    leveler: _dsp.LevelerState
    limiter: _dsp.LimiterState


@dataclass(frozen=True)
class StreamState:
    """Everything the builtin model carries from one block to the next."""

    memory: Memory
    plan: BarPlan | None
    bar: int
    bar_start: Fraction         # the beat the planned bar starts on
    next_step: int              # the next sixteenth of the bar to fire
    voices: tuple[Voice, ...]
    families: tuple             # the instruments each layer last played (to notice a change)
    voicing: tuple[int, ...]    # the harmony's last voicing, for voice leading
    pad_voicing: tuple[int, ...]
    mix: MixState
    listener: ListenerState
    #: What the model heard of its context when the current bar was planned.
    context: Context = Context()
    #: The feel of the last block (feels are cached, so an unchanged style is the same object).
    feel: Feel | None = None
    #: The held notes of the last block.
    notes: frozenset[int] = frozenset()


#: Fixed filters of the master: (b, a) of the tilt's low and high bands, the lofi lowpass and highpass.
_TILT_LOW = _dsp.one_pole(250.0)

_SEND_HIGHPASS = _dsp.biquad("highpass", 250.0, 0.7)


def _first_order_highpass(frequency: float) -> tuple[tuple, tuple]:
    pole = math.exp(-2.0 * math.pi * frequency / RATE)
    return ((1 + pole) / 2, -(1 + pole) / 2), (1.0, -pole)


_TILT_HIGH = _first_order_highpass(3000.0)
_FILTERS = (_TILT_LOW, _TILT_HIGH)
#: Filter orders of the master's stateful filters: the tilt's two bands, and the wear's band (6th order).
_BAND_ORDER = 6
_FILTER_ORDERS = tuple(max(len(b), len(a)) - 1 for b, a in _FILTERS)


class Generator:
    """The streaming half of the builtin backend (see the module docstring)."""

    def __init__(self) -> None:
        self._reverb = _dsp.Reverb()
        self._leveler = _dsp.Leveler()
        # -2 dBFS on samples keeps the true peak (between samples) under -1 dBTP.
        self._limiter = _dsp.Limiter(ceiling_db=-2.0)
        self._listener = Listener()

    # -- state ------------------------------------------------------------------------------
    def initial_state(self) -> StreamState:
        layers = len(LAYERS)
        mix = MixState(gains=tuple(Ramp(0.0, 0.0) for _ in range(layers)),
                       sends=tuple(Ramp(0.0, 0.0) for _ in range(layers)),
                       low=Ramp(0.0, 0.0), high=Ramp(0.0, 0.0), lofi=Ramp(0.0, 0.0),
                       filters=np.zeros((sum(_FILTER_ORDERS) + _BAND_ORDER, 2)), send_filter=np.zeros(2),
                       reverb=self._reverb.initial(),
                       leveler=self._leveler.initial(-15.0), limiter=self._limiter.initial())
        return StreamState(Memory(), None, -1, Fraction(0), 0, (), (), (), (), mix, self._listener.initial())

    # -- one block --------------------------------------------------------------------------
    def step(self, state: StreamState, request: BlockRequest,
             style_vector: np.ndarray) -> tuple[np.ndarray, StreamState]:
        controls = request.controls
        feel = feel_of(style_vector)
        sampling = Sampling(controls.temperature, controls.top_k, controls.guidance, controls.seed)
        start, frames = request.start, request.frames
        end = start + frames
        tempo = request.tempo or TempoMap(sample_rate=RATE, _segments=(
            Segment(Fraction(start), request.beat, controls.bpm),))
        beats = controls.beats_per_bar

        key = state.memory.key
        if feel is not state.feel:
            state = self._follow_style(state, feel, sampling, start, float(tempo.bpm_at(start)))
        voices = list(state.voices)
        if state.plan is not None and (state.memory.key != key or controls.notes != state.notes):
            # The harmony moved under the notes sounding: let them go and strike the new chord now.
            voices = [replace(v, cut=start) if v.layer in _HARMONIC_LAYERS and v.cut is None and v.onset < start
                      else v for v in voices]
            struck, voicing, pad_voicing = self._restrike(state, feel, controls, tempo, start)
            voices += struck
            state = replace(state, voicing=voicing, pad_voicing=pad_voicing)
        state = replace(state, notes=controls.notes)
        while True:
            if state.plan is None or state.next_step >= state.plan.steps:
                state = self._next_bar(state, feel, sampling, request.beat, beats, tempo)
            step_beat = state.bar_start + Fraction(state.next_step, STEPS_PER_BEAT)
            sample = tempo.sample_of(step_beat)
            if sample >= end:
                break
            fired, voicing, pad_voicing = self._fire(state, feel, controls, tempo, sample)
            voices += fired
            state = replace(state, next_step=state.next_step + 1, voicing=voicing, pad_voicing=pad_voicing)
        buses = self._mix_voices(voices, start, frames)
        audio, mix = self._master(buses, state.mix, feel, start, frames)
        voices = [v for v in voices if v.end > end]
        listener = self._listener.hear(state.listener, audio, start)
        return audio, replace(state, voices=tuple(voices), mix=mix, listener=listener)

    def hear(self, state: StreamState, audio: np.ndarray, start: int) -> StreamState:
        """Mix other audio (injected input) into what the model hears of its context, from
        absolute sample ``start``: the composer follows its key from the next bar."""
        return replace(state, listener=self._listener.hear(state.listener, audio, start, outside=True))

    # -- planning ---------------------------------------------------------------------------
    def _next_bar(self, state: StreamState, feel: Feel, sampling: Sampling, beat: Fraction,
                  beats: int, tempo: TempoMap) -> StreamState:
        if state.plan is None:
            # The first bar (or the first after a switch to this model mid-stream): start on the
            # current bar of the clock, at the sixteenth now due.
            bar = int(beat // beats)
            bar_start = Fraction(bar * beats)
            first = math.ceil((beat - bar_start) * STEPS_PER_BEAT)
            if first >= STEPS_PER_BEAT * beats:
                bar, bar_start, first = bar + 1, bar_start + beats, 0
        else:
            bar, bar_start, first = state.bar + 1, state.bar_start + Fraction(state.plan.steps, STEPS_PER_BEAT), 0
        bpm = float(tempo.bpm_at(tempo.sample_of(bar_start + Fraction(first, STEPS_PER_BEAT))))
        grid = ()
        if state.plan is not None:  # the bar just played, for what the outside input played in it
            grid = tuple(tempo.sample_of(state.bar_start + Fraction(k, STEPS_PER_BEAT))
                         for k in range(state.plan.steps + 1))
        context = self._listener.measure(state.listener, grid)
        plan, memory = compose_bar(state.memory, bar, feel, sampling, beats, context, bpm=bpm, from_step=first)
        return replace(state, memory=memory, plan=plan, bar=bar, bar_start=bar_start, next_step=first,
                       context=context)

    def _follow_style(self, state: StreamState, feel: Feel, sampling: Sampling, start: int,
                      bpm: float) -> StreamState:
        """A new style, from this block on: the key follows at once, a layer whose
        instrument changed fades its sounding notes out, and a big enough move
        re-plans the rest of the bar from the next sixteenth."""
        state = replace(state, feel=feel)
        if state.memory.key is not None:
            key = choose_key(state.memory, feel, state.context, sampling)
            if key != state.memory.key:
                state = replace(state, memory=replace(state.memory, key=key))
        families = tuple(tuple(f for f, _ in feel.families[layer]) if layer != "drums" else (feel.kit,)
                         for layer in LAYERS)
        if families != state.families:
            changed = {i for i, (a, b) in enumerate(zip(families, state.families or families, strict=True))
                       if a != b and i != 0}
            voices = tuple(replace(v, cut=start) if v.layer in changed and v.cut is None else v
                           for v in state.voices)
            state = replace(state, families=families, voices=voices)
        planned = state.memory.planned_for
        if state.plan is None or planned is None or state.next_step == 0 or state.next_step >= state.plan.steps:
            return state
        if float(np.sqrt(np.mean((feel.vector() - planned) ** 2))) < MOVED:
            return state
        plan, memory = compose_bar(state.memory, state.bar, feel, sampling, state.plan.steps // STEPS_PER_BEAT,
                                   state.context, bpm=bpm, from_step=state.next_step)
        return replace(state, plan=plan, memory=memory)

    # -- firing -----------------------------------------------------------------------------
    def _fire(self, state: StreamState, feel: Feel, controls, tempo: TempoMap,
              grid_sample: int) -> tuple[list[Voice], tuple[int, ...], tuple[int, ...]]:
        """The voices the current step starts, and the harmony's and pad's voicings after it."""
        plan, step = state.plan, state.next_step
        events = [e for e in plan.events if e.step == step]
        if not events:
            return [], state.voicing, state.pad_voicing
        frames_per_step = _frames_per_step(tempo, grid_sample)
        swing = _swing_delay(step, feel.swing) * frames_per_step
        rng = np.random.default_rng([controls.seed & 0xFFFFFFFF, state.bar, step, 0x68756D])
        # Acoustic players are a few ms loose, and loose the same way each time (microtiming is a
        # player's feel: the same step of the bar pushed or laid back alike), so it is drawn per
        # step of the bar, not per bar. Drawn per bar, two layers holding the same pitches would
        # meet at another phase every bar, and the chord would swell and hollow out at random.
        loose = (1.0 - feel.kit_weights[0]) * 0.004 * RATE
        feel_rng = np.random.default_rng([controls.seed & 0xFFFFFFFF, step, 0x6C617465])
        lateness = feel_rng.random(len(LAYERS) + len(DRUM_PIECES)) * loose
        timed = []
        for event in events:
            drum = event.layer == "drums"
            slot = len(LAYERS) + DRUM_PIECES.index(event.what) if drum else LAYERS.index(event.layer)
            late = 0.0 if drum and event.what == "kick" else lateness[slot]
            velocity = event.velocity * (0.75 + 0.25 * feel.energy) * (0.92 + 0.16 * rng.random())
            timed.append((event, grid_sample + int(round(swing + late)),
                          max(int(event.length * frames_per_step), 64), velocity))
        return self._start(timed, state, feel, controls, plan.chord_at(step), float(tempo.bpm_at(grid_sample)))

    def _restrike(self, state: StreamState, feel: Feel, controls, tempo: TempoMap,
                  at: int) -> tuple[list[Voice], tuple[int, ...], tuple[int, ...]]:
        """Sound the harmony in force again from sample ``at``, after a key change or new
        held notes: a player who changes chord is heard at once, not at the next step."""
        plan = state.plan
        current = min(max(state.next_step - 1, 0), plan.steps - 1)
        following = [s for s, _ in plan.chords if s > current] + [plan.steps]
        until = tempo.sample_of(state.bar_start + Fraction(following[0], STEPS_PER_BEAT))
        held = max(until - at, int(0.25 * RATE))
        events = [Event(current, "harmony", "chord"), Event(current, "bass", "root")]
        if feel.family("texture") in PAD_FAMILIES:
            events.append(Event(current, "texture", "pad"))
        timed = [(event, at, held, 0.7) for event in events]
        return self._start(timed, state, feel, controls, plan.chord_at(current), float(tempo.bpm_at(at)))

    def _start(self, timed, state: StreamState, feel: Feel, controls, degree: int,
               bpm: float) -> tuple[list[Voice], tuple[int, ...], tuple[int, ...]]:
        """Voices for ``(event, onset, held frames, velocity)`` entries, played on the
        chord of scale degree ``degree`` in the current key (or on the held notes), at ``bpm``."""
        key = state.memory.key or Key(9, "minor")
        chord = _chord(key, degree, feel, controls.notes)
        voices = []
        voicing, pad_voicing = state.voicing, state.pad_voicing
        for event, onset, held, velocity in timed:
            layer = LAYERS.index(event.layer)
            if feel.stems[layer] < 0.12:
                continue
            if event.layer == "drums":
                groove = state.memory.drums[0] if state.memory.drums is not None else None
                voices.append(self._drum(event, feel, onset, velocity, key.tonic, bpm, groove))
                continue
            pitches = self._pitches(event, voicing, pad_voicing, key, chord, feel, controls.notes)
            if event.layer == "harmony" and event.what == "chord":
                voicing = pitches
            if event.layer == "texture" and event.what == "pad":
                pad_voicing = pitches
            for family, share in feel.families[event.layer]:
                tone = _tone(family, event.layer, feel)
                gain = velocity * share / math.sqrt(len(pitches))
                for i, pitch in enumerate(pitches):
                    audio = render_note(tone, pitch, held, velocity > 0.8)
                    pan = _pan(event.layer, i, len(pitches))
                    voices.append(Voice(audio, onset, layer, *_pan_gains(pan, gain), pitch=pitch,
                                        width=_width(event.layer, pitch + 7 * i, feel.space)))
        return voices, voicing, pad_voicing

    def _drum(self, event: Event, feel: Feel, onset: int, velocity: float, tonic: int, bpm: float,
              groove: np.ndarray | None) -> Voice:
        piece = str(event.what)
        kit = _kit(piece, feel.kit, feel.brightness, feel.grit, tonic)
        gain = velocity ** 2.0 * _piece_level(piece, bpm)  # ghost notes (0.3) sit 21 dB under accents
        if groove is not None:
            gain *= _bus_level(groove.tobytes(), groove.shape, feel.kit, feel.brightness, feel.grit, tonic,
                               round(bpm))
        return Voice(render_drum(piece, kit), onset, 0, *_pan_gains(_DRUM_PAN[piece], gain), piece=piece,
                     width=_width(piece, onset, feel.space))

    def _pitches(self, event: Event, voicing: tuple[int, ...], pad_voicing: tuple[int, ...], key: Key,
                 chord: Chord, feel: Feel, notes: frozenset[int]) -> tuple[int, ...]:
        if event.layer == "bass":
            root = 33 + (chord.root - 33) % 12
            third = chord.tones[1] if len(chord.tones) > 1 else chord.root
            offsets = {"root": 0, "fifth": 7, "octave": 12, "third": (third - chord.root) % 12,
                       "seventh": (chord.tones[3] - chord.root) % 12 if len(chord.tones) > 3 else 12,
                       "approach": -1}
            pitch = root + offsets.get(str(event.what), 0)
            # Held notes pin the bass too: passing and approach tones snap to a held pitch class.
            return (nearest_in(pitch, frozenset(n % 12 for n in notes)) if notes else pitch,)
        if event.layer == "harmony":
            count = min(4, len(chord.tones)) if len(chord.tones) > 2 else 3
            if notes:
                held = tuple(sorted(notes))
                voicing = tuple(p for p in held if 36 <= p <= 96) or held
            else:
                voicing = voice_chord(chord.tones, voicing, 55, 79, count)  # above the bass's range
            if event.what == "chord":
                return voicing
            return (sorted(voicing)[int(event.what) % len(voicing)],)
        if event.layer == "lead":
            base = 62 + (12 if feel.brightness > 0.75 else 0) - (5 if feel.brightness < 0.25 else 0)
            pitch = key.pitch(int(event.what), base)
            if notes:
                pitch = nearest_in(pitch, frozenset(n % 12 for n in notes))
            elif event.step % 4 == 0 and feel.complexity < 0.75:
                pitch = nearest_in(pitch, chord.pitch_classes)
            return (pitch,)
        # texture
        if notes:
            pcs = frozenset(n % 12 for n in notes)
            tones = tuple(sorted(pcs))
        else:
            tones = chord.tones[:3]
        if event.what == "pad":
            return voice_chord(tones, pad_voicing, 55, 81, 3)
        high = sorted(voice_chord(tones, (), 74, 96, 3))
        return (high[int(event.what) % len(high)],)

    # -- mixing -----------------------------------------------------------------------------
    def _mix_voices(self, voices: list[Voice], start: int, frames: int) -> np.ndarray:
        """Each layer's stereo bus for the block: the slices of its voices that fall in it."""
        buses = np.zeros((len(LAYERS), frames, 2), dtype=np.float32)
        end = start + frames
        for v in voices:
            a, b = max(v.onset, start), min(v.end, end)
            if a >= b:
                continue
            fade = None
            if v.cut is not None and b > v.cut:
                fade = np.clip(1.0 - (np.arange(a, b) - v.cut) / _CUT, 0.0, 1.0).astype(np.float32)
            bus = buses[v.layer, a - start:b - start]
            for channel, gain, lag in ((0, v.left, 0), (1, v.right, v.width)):
                first, last = a - v.onset - lag, b - v.onset - lag
                piece = v.audio[max(first, 0):max(min(last, len(v.audio)), 0)]
                if not len(piece):
                    continue
                into = bus[max(0, -first):max(0, -first) + len(piece), channel]
                into += piece * (np.float32(gain) if fade is None else
                                 fade[max(0, -first):max(0, -first) + len(piece)] * np.float32(gain))
        return buses

    def _master(self, buses: np.ndarray, mix: MixState, feel: Feel, start: int,
                frames: int) -> tuple[np.ndarray, MixState]:
        gains = tuple(r.to(_layer_gain(layer, feel) * _stem_gain(feel.stems[i]), start)
                      for i, (r, layer) in enumerate(zip(mix.gains, LAYERS, strict=True)))
        sends = tuple(r.to(_SENDS[layer] * 1.6 * feel.space ** 0.6, start)
                      for r, layer in zip(mix.sends, LAYERS, strict=True))
        dry = np.zeros((frames, 2), dtype=np.float32)
        send = np.zeros(frames, dtype=np.float32)
        for i in range(len(LAYERS)):
            if not buses[i].any():
                continue
            g = gains[i].over(start, frames)
            layer = buses[i] * g
            if LAYERS[i] != "drums" and feel.grit > _AMP_FROM_GRIT:  # the pitched layers, not the kit
                layer = _amp(layer, feel.grit)
            dry += layer
            s = sends[i].over(start, frames)
            send += (layer[:, 0] + layer[:, 1]) * (s if np.isscalar(s) else s[:, 0])
        seconds = 0.4 + 3.6 * feel.space ** 1.2
        # The send is cut below 250 Hz, as engineers cut it: a room full of kick and bass is mud.
        send, send_filter = lfilter(*_SEND_HIGHPASS, send, zi=mix.send_filter)
        wet, reverb = self._reverb(send.astype(np.float32), mix.reverb, seconds, 2500.0 + 7000.0 * feel.brightness)
        x = dry + wet * np.float32(_wet_gain(feel.space))

        states = np.split(mix.filters, np.cumsum(_FILTER_ORDERS))
        low_band, s0 = lfilter(*_TILT_LOW, x, axis=0, zi=states[0])
        high_band, s1 = lfilter(*_TILT_HIGH, x, axis=0, zi=states[1])
        # The tilt centres darker than flat: brightness 0.5 shelves the top 5 dB down, the
        # balance of a warm master; 0 takes 14 dB off above 3 kHz and 1 adds 4 dB.
        low = mix.low.to(0.8 * (0.5 - feel.brightness), start)
        high = mix.high.to(_dsp.undb(-18.0 + 20.0 * feel.brightness) - 1.0, start)
        x = x + low_band.astype(np.float32) * low.over(start, frames) \
            + high_band.astype(np.float32) * high.over(start, frames)

        if feel.grit > 0.6:
            x = _dsp.saturate(x, 1.0 + 6.0 * (feel.grit - 0.6))

        lofi = mix.lofi.to(feel.lofi, start)
        amount = lofi.over(start, frames)
        worn = not (np.isscalar(amount) and amount == 0.0)
        if worn:
            # Hiss and crackle go onto the record before its narrow band, as on a worn disc:
            # lofi sounds dark, not hissy-bright.
            hiss = _dsp.noise(frames, start) * np.float32(0.004)
            crackle = np.where(np.abs(_dsp.noise(frames, start + 77777)) > 3.6, np.float32(0.08), np.float32(0.0))
            grain = (hiss + crackle * np.sign(_dsp.noise(frames, start + 999))).astype(np.float32)
            x = x + grain[:, None] * amount
        banded, s2 = lfilter(*_lofi_band(lofi.end), x, axis=0, zi=states[2])
        x = banded.astype(np.float32)

        target = -18.0 + 3.5 * feel.energy
        x, leveler = self._leveler(x.astype(np.float32), mix.leveler, target, start)
        x = _dsp.soft_clip(x, 0.5, 0.8)
        x, limiter = self._limiter(x, mix.limiter)
        filters = np.concatenate([s0, s1, s2])
        return x.astype(np.float32), MixState(gains, sends, low, high, lofi, filters, send_filter, reverb, leveler,
                                              limiter)


def _wet_gain(space: float) -> float:
    """How loud the room returns, by ``space``: barely there when dry, louder than the
    instruments themselves in a cathedral (where a listener hears mostly the room)."""
    return 0.35 + 1.4 * space


@lru_cache(maxsize=32)
def _lofi_band(lofi: float) -> tuple[tuple, tuple]:
    """The band a medium passes: a steep (4th-order Butterworth) lowpass from 16 kHz when
    pristine down to 3.5 kHz when worn out, and a highpass from 20 Hz up to 200 Hz. Chosen from
    the control's value (so it changes only where a control changes, wherever the engine cuts
    blocks)."""
    wear = round(min(max(lofi, 0.0), 1.0), 2)
    top = 16000.0 * (3500.0 / 16000.0) ** wear
    bottom = 20.0 * (200.0 / 20.0) ** wear
    return _dsp.cascade(_dsp.biquad("lowpass", top, 0.54), _dsp.biquad("lowpass", top, 1.31),
                        _dsp.biquad("highpass", bottom, 0.7071))


def _layer_gain(layer: str, feel: Feel) -> float:
    """A layer's gain at full stem level; a lead over distorted guitars is pushed up to be heard."""
    gain = _LAYER_GAIN[layer]
    if layer == "lead" and feel.family("harmony") == "guitar_distorted":
        gain *= 1.6
    return gain


def _kit(piece: str, kind: str, brightness: float, grit: float, tonic: int) -> Kit:
    """The kit a piece is played on: hand drums on the hand kit, whatever the style's kit."""
    hand = piece in ("perc_low", "perc_high")
    return Kit.of("hand" if hand else kind, brightness, grit * 0.7, tonic)


def _piece_level(piece: str, bpm: float) -> float:
    """A drum piece's level in the kit's mix; time-keeping is pushed up at fast tempi."""
    level = _DRUM_LEVEL.get(piece, 1.0)
    if piece in _TIME_KEEPING:
        level *= 1.0 + 1.5 * float(np.clip((bpm - 110.0) / 60.0, 0.0, 1.0))
    return level


#: The most a quiet groove's drum bus is raised to the level of the reference groove (9.5 dB).
_MOST_BUS_GAIN = 3.0


@lru_cache(maxsize=256)
def _bus_level(groove: bytes, shape: tuple[int, int], kind: str, brightness: float, grit: float, tonic: int,
               bpm: int) -> float:
    """The drum bus gain that brings a groove on its kit up to the loudness of a backbeat on an
    acoustic kit at 115 BPM, as an engineer sets the drum bus so that the drums sit where the
    style's stem level asks whatever the groove: played alone, reggae's one drop (a kick and a
    rim click on beat three) came out 16 dB and boom bap's beat 8 dB below techno's, and in
    their mixes they were heard as drums 0.16 and 0.39 at drums 0.8 and 1.0. Louder grooves are
    left as they are (at most ``_MOST_BUS_GAIN``; cached, as grooves repeat)."""
    pattern = np.frombuffer(groove, dtype=np.float64).reshape(shape)
    power = _groove_power(pattern, kind, brightness, grit, tonic, bpm)
    return float(np.clip(math.sqrt(_reference_power() / max(power, 1e-12)), 1.0, _MOST_BUS_GAIN))


@lru_cache(maxsize=1)
def _reference_power() -> float:
    return _groove_power(drum_pattern("backbeat"), "acoustic", 0.5, 0.0, 9, 115)


def _groove_power(pattern: np.ndarray, kind: str, brightness: float, grit: float, tonic: int, bpm: float) -> float:
    """Mean power of one bar of a groove: each hit's energy at its velocity and piece level."""
    total = 0.0
    for piece, velocities in zip(DRUM_PIECES, pattern, strict=True):
        if velocities.any():
            energy = _hit_energy(piece, _kit(piece, kind, brightness, grit, tonic))
            total += float(((velocities ** 2 * _piece_level(piece, bpm)) ** 2).sum()) * energy
    return total / (pattern.shape[1] * 60.0 / bpm / STEPS_PER_BEAT * RATE)


@lru_cache(maxsize=512)
def _hit_energy(piece: str, kit: Kit) -> float:
    return float(np.sum(render_drum(piece, kit).astype(np.float64) ** 2))


#: From this grit on, the pitched layers are played through an amp as a whole, not note by note.
_AMP_FROM_GRIT = 0.3
#: A layer's RMS at full stem level (0.04-0.1), where the amp's drive is set.
_AMP_NOMINAL_RMS = 0.05


def _amp(layer: np.ndarray, grit: float) -> np.ndarray:
    """A layer through a saturating amp whose drive rises with grit (at full grit a layer's RMS
    level is driven 4 times past the knee), at unchanged small-signal gain. Each note is already
    saturated on its own, but that only adds harmonics of its own pitch; a chord through an amp
    also makes the intermodulation between its notes that fills the spectrum between partials,
    which is what a listener (and the analysis) hears as distortion: "distorted guitar" read grit
    0.07 with notes saturated one by one. Memoryless, so it is the same wherever a block is cut."""
    k = np.float32(4.0 * (grit - _AMP_FROM_GRIT) / (1.0 - _AMP_FROM_GRIT) / _AMP_NOMINAL_RMS)
    return np.tanh(layer * k) / k


def _stem_gain(level: float) -> float:
    """A layer's gain from its stem level: silent below 0.12, then rising on a curve."""
    return 0.0 if level < 0.12 else ((level - 0.12) / 0.88) ** 1.6


def _frames_per_step(tempo: TempoMap, sample: int) -> float:
    return 60.0 / float(tempo.bpm_at(sample)) / STEPS_PER_BEAT * RATE


def _swing_delay(step: int, swing: float) -> float:
    """How many sixteenths late a step sounds: off-beat eighths move towards the
    third triplet (2/3 of a sixteenth at full swing), off-beat sixteenths half as far."""
    position = step % STEPS_PER_BEAT
    if position == 2:
        return swing * 2.0 / 3.0
    if position in (1, 3):
        return swing / 3.0
    return 0.0


def _chord(key: Key, degree: int, feel: Feel, notes: frozenset[int]) -> Chord:
    if notes:
        ordered = tuple(dict.fromkeys(n % 12 for n in sorted(notes)))
        return Chord(ordered[0], ordered)
    # Harmony as rich as the style: fifths alone when it is plain (or distorted, as guitars
    # play), triads, then sevenths and ninths; the raised leading tone only in richer minor harmony.
    size = 3 + (feel.complexity > 0.45) + (feel.complexity > 0.75)
    plain = feel.complexity < 0.25 or (feel.complexity < 0.35 and feel.grit > 0.5)
    return chord_on(key, degree, size, power=plain, leading_tone=feel.complexity > 0.5)


def _tone(family: str, layer: str, feel: Feel) -> Tone:
    # Bass and pads sit under the lead: darker, so the top of the spectrum is the lead's and the drums'.
    brightness = feel.brightness * {"bass": 0.7, "harmony": 0.85, "lead": 1.0, "texture": 0.45}[layer]
    players = 3 if layer in ("harmony", "texture") else 1
    # A solo line is played with less drive than the rhythm part, so it cuts through it.
    grit = feel.grit * (0.6 if layer == "lead" else 1.0)
    return Tone.of(family, brightness, grit, players)


#: What gets a stereo width (frames of right-channel lag, at most), at no space and at full space:
#: chords, pads and the lead are spread; cymbals ring in the room; kick, snare and bass stay centred.
_WIDTH = {"harmony": (0.004, 0.014), "texture": (0.006, 0.018), "lead": (0.002, 0.008),
          "hat": (0.002, 0.006), "open_hat": (0.002, 0.008), "ride": (0.003, 0.01), "crash": (0.004, 0.012),
          "shaker": (0.002, 0.006), "perc_low": (0.001, 0.004), "perc_high": (0.001, 0.004)}


def _width(what: str, salt: int, space: float) -> int:
    """A note's right-channel lag: between half and all of its kind's width at this space, varied
    from note to note by ``salt`` so that a chord's notes spread apart (deterministic)."""
    if what not in _WIDTH:
        return 0
    low, high = _WIDTH[what]
    most = (low + (high - low) * space) * RATE
    return int(most * (0.5 + 0.5 * ((salt * 2654435761) % 997) / 996))


def _pan(layer: str, index: int, count: int) -> float:
    if layer == "bass":
        return 0.0
    if layer == "lead":
        return 0.1
    spread = 0.6 if layer == "harmony" else 0.9
    return 0.0 if count == 1 else spread * (index / (count - 1) - 0.5)


def _pan_gains(pan: float, gain: float) -> tuple[float, float]:
    angle = (pan + 1.0) * math.pi / 4.0
    return gain * math.cos(angle) * math.sqrt(2.0), gain * math.sin(angle) * math.sqrt(2.0)
