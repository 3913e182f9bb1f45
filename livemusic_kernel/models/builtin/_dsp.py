"""Signal processing for the builtin model: oscillators, envelopes, filters, effects.

Everything here is vectorised NumPy on float32, because the builtin model must
run 30 times faster than real time on one core: a Python loop over samples is
never an option, so every recursive process is either a SciPy ``lfilter`` call
with its state carried across blocks, or is rewritten into a vectorisable form
(the limiter's release is a cumulative maximum; the reverb's feedback loop is
computed a whole chunk at a time because its shortest delay is longer than a
chunk).

Every stateful processor here is a pure function of ``(state, input)`` that
returns ``(output, new_state)`` and never modifies the state it was given, as
the backend protocol requires; and each gives the same samples however the
stream is cut into blocks, so a render does not depend on where the engine
splits blocks to land a change.

Oscillators use 32-bit fixed-point phase: the phase of sample ``n`` of a note
is ``n * increment`` modulo 2**32, computed directly from ``n``, so a note's
waveform depends only on its age and never accumulates rounding error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

__all__ = [
    "RATE", "Wavetable", "sine", "phase_steps", "hz", "noise", "decay", "adsr", "biquad", "one_pole",
    "Filter", "Reverb", "ReverbState", "Leveler", "LevelerState", "Limiter", "LimiterState",
    "soft_clip", "saturate", "db", "undb",
]

RATE = 48000
_TABLE_BITS = 11
_TABLE = 1 << _TABLE_BITS
_FRACTION_BITS = 32 - _TABLE_BITS
_FRACTION_SCALE = np.float32(1.0 / (1 << _FRACTION_BITS))
_TWO_PI_OVER_2_32 = np.float32(2.0 * math.pi / 2.0 ** 32)


def hz(midi: float) -> float:
    """The frequency of a (possibly fractional) MIDI note number."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def db(gain: float) -> float:
    return 20.0 * math.log10(max(gain, 1e-12))


def undb(decibels: float) -> float:
    return 10.0 ** (decibels / 20.0)


@lru_cache(maxsize=64)
def _ages(frames: int) -> np.ndarray:
    ages = np.arange(frames, dtype=np.uint32)
    ages.setflags(write=False)
    return ages


def phase_steps(frequency: float, frames: int, *, vibrato: tuple[float, float, float] | None = None,
                glide: tuple[float, float] | None = None) -> np.ndarray:
    """Fixed-point phases (uint32, one turn = 2**32) of a tone ``frames`` long.

    ``vibrato`` is ``(rate_hz, depth, delay_s)``: the frequency swings by
    ``depth`` (a ratio, 0.005 is about 9 cents) after a fade-in of ``delay_s``.
    ``glide`` is ``(ratio, seconds)``: the pitch starts at ``frequency * ratio``
    and settles exponentially (a brass scoop, a kick drum's sweep).
    """
    increment = frequency / RATE * 2.0 ** 32
    if vibrato is None and glide is None:
        return _ages(frames) * np.uint32(int(round(increment)) & 0xFFFFFFFF)
    t = np.arange(frames, dtype=np.float64) / RATE
    ratio = np.ones(frames)
    if vibrato is not None:
        rate, depth, delay = vibrato
        fade = np.clip(t / delay, 0.0, 1.0) if delay > 0 else 1.0
        ratio += depth * fade * np.sin(2.0 * math.pi * rate * t)
    if glide is not None:
        start, seconds = glide
        ratio *= 1.0 + (start - 1.0) * np.exp(-t / seconds)
    steps = np.empty(frames, dtype=np.float64)
    steps[0] = 0.0
    np.cumsum(ratio[:-1] * increment, out=steps[1:])
    return (steps.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)


def sine(phases: np.ndarray) -> np.ndarray:
    """sin() of fixed-point phases."""
    return np.sin(phases.astype(np.float32) * _TWO_PI_OVER_2_32)


class Wavetable:
    """One cycle of a harmonic spectrum, band-limited for every octave.

    ``amplitudes[k]`` is the amplitude of harmonic ``k + 1``. A note at
    frequency ``f`` reads the table built with the harmonics below 20 kHz at
    the top of ``f``'s octave band, so nothing aliases. Tables are scaled to an
    RMS of 1/sqrt(2) (a full-scale sine's), so timbres of one loudness share a gain.
    """

    __slots__ = ("_amplitudes", "_phases", "_levels")

    def __init__(self, amplitudes: np.ndarray, phases: np.ndarray | None = None):
        amplitudes = np.asarray(amplitudes, dtype=np.float64)[: _TABLE // 2 - 1]
        self._amplitudes = amplitudes
        self._phases = (np.zeros_like(amplitudes) if phases is None
                        else np.asarray(phases, dtype=np.float64)[: len(amplitudes)])
        self._levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _level(self, frequency: float) -> tuple[np.ndarray, np.ndarray]:
        level = max(0, int(math.ceil(math.log2(max(frequency, 1.0) / 27.5))))
        if level not in self._levels:
            top = 27.5 * 2.0 ** level  # the highest frequency that reads this table
            count = max(1, min(len(self._amplitudes), int(20000.0 / top)))
            spectrum = np.zeros(_TABLE // 2 + 1, dtype=np.complex128)
            a, p = self._amplitudes[:count], self._phases[:count]
            spectrum[1:count + 1] = a * np.exp(1j * (p - math.pi / 2))  # phase 0 = a sine
            table = np.fft.irfft(spectrum, _TABLE) * (_TABLE / 2)
            power = float(np.sum(self._amplitudes ** 2)) / 2.0
            table /= math.sqrt(power) * math.sqrt(2.0) if power > 0 else 1.0
            table = table.astype(np.float32)
            self._levels[level] = (table, (np.roll(table, -1) - table).astype(np.float32))
        return self._levels[level]

    def read(self, phases: np.ndarray, frequency: float) -> np.ndarray:
        """The waveform at fixed-point ``phases``, for a note of ``frequency``."""
        table, slope = self._level(frequency)
        index = (phases >> _FRACTION_BITS).astype(np.intp)
        fraction = (phases & np.uint32((1 << _FRACTION_BITS) - 1)).astype(np.float32) * _FRACTION_SCALE
        return np.take(table, index) + fraction * np.take(slope, index)


# -- noise ------------------------------------------------------------------------------------

_NOISE_LENGTH = 1 << 18


@lru_cache(maxsize=1)
def _noise_table() -> np.ndarray:
    table = np.random.default_rng(0x6C6D6B).standard_normal(_NOISE_LENGTH).astype(np.float32)
    table.setflags(write=False)
    return table


def noise(frames: int, offset: int) -> np.ndarray:
    """Deterministic white noise (unit variance): ``frames`` samples of a fixed
    table from ``offset`` on, wrapping. The same offset gives the same noise on
    every run and machine, which is what makes renders reproducible."""
    table = _noise_table()
    start = offset % _NOISE_LENGTH
    if start + frames <= _NOISE_LENGTH:
        return table[start:start + frames]
    return np.take(table, np.arange(start, start + frames) % _NOISE_LENGTH)


# -- envelopes --------------------------------------------------------------------------------

def decay(frames: int, seconds: float, *, start: float = 0.0) -> np.ndarray:
    """exp(-t / seconds) from age ``start`` seconds on."""
    t = np.arange(frames, dtype=np.float32) * np.float32(1.0 / RATE) + np.float32(start)
    return np.exp(-t / np.float32(max(seconds, 1e-4)))


def adsr(frames: int, held: int, attack: float, decay_s: float, sustain: float, release: float) -> np.ndarray:
    """A linear-attack, exponential-decay and -release envelope.

    ``held`` is the age in frames at which the note is let go; the release
    starts from wherever the envelope is then, so short notes never click.
    """
    t = np.arange(frames, dtype=np.float32) * np.float32(1.0 / RATE)
    a = max(attack, 1e-4)
    rise = np.minimum(t / np.float32(a), 1.0)
    fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - a, 0.0) / np.float32(max(decay_s, 1e-4)))
    env = rise * fall
    if held < frames:
        off = float(env[held]) if held > 0 else 0.0
        tail = t[held:] - np.float32(held / RATE)
        env[held:] = off * np.exp(-tail / np.float32(max(release, 1e-4) / 4.0))
    return env.astype(np.float32)


# -- filters ----------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def biquad(kind: str, frequency: float, q: float = 0.7071, gain_db: float = 0.0) -> tuple[tuple, tuple]:
    """Coefficients ``(b, a)`` of an RBJ-cookbook biquad at 48 kHz: ``lowpass``,
    ``highpass``, ``bandpass``, ``peak``, ``lowshelf``, ``highshelf``."""
    w = 2.0 * math.pi * min(frequency, 0.45 * RATE) / RATE
    cos, alpha = math.cos(w), math.sin(w) / (2.0 * q)
    A = 10.0 ** (gain_db / 40.0)
    if kind == "lowpass":
        b = ((1 - cos) / 2, 1 - cos, (1 - cos) / 2)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "highpass":
        b = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "bandpass":
        b = (alpha, 0.0, -alpha)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "peak":
        b = (1 + alpha * A, -2 * cos, 1 - alpha * A)
        a = (1 + alpha / A, -2 * cos, 1 - alpha / A)
    elif kind in ("lowshelf", "highshelf"):
        s = 1 if kind == "lowshelf" else -1
        root = 2 * math.sqrt(A) * alpha
        b = (A * ((A + 1) - s * (A - 1) * cos + root), s * 2 * A * ((A - 1) - s * (A + 1) * cos),
             A * ((A + 1) - s * (A - 1) * cos - root))
        a = ((A + 1) + s * (A - 1) * cos + root, -s * 2 * ((A - 1) + s * (A + 1) * cos),
             (A + 1) + s * (A - 1) * cos - root)
    else:
        raise ValueError(f"unknown filter kind {kind!r}; choose one of: lowpass, highpass, bandpass, "
                         f"peak, lowshelf, highshelf")
    return tuple(x / a[0] for x in b), tuple(x / a[0] for x in a)


def one_pole(frequency: float) -> tuple[tuple, tuple]:
    """A first-order lowpass (6 dB per octave) at ``frequency``."""
    pole = math.exp(-2.0 * math.pi * frequency / RATE)
    return (1.0 - pole,), (1.0, -pole)


def filtered(signal: np.ndarray, coefficients: tuple[tuple, tuple]) -> np.ndarray:
    """A one-shot filter pass (for rendering a note: no state to carry)."""
    b, a = coefficients
    return lfilter(b, a, signal).astype(np.float32)


@dataclass(frozen=True)
class Filter:
    """A filter applied to a stream, with its state carried between blocks."""

    b: tuple
    a: tuple

    @classmethod
    def of(cls, coefficients: tuple[tuple, tuple]) -> Filter:
        return cls(*coefficients)

    def initial(self, channels: int = 2) -> np.ndarray:
        order = max(len(self.a), len(self.b)) - 1
        return np.zeros((order, channels))

    def __call__(self, signal: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, new_state = lfilter(self.b, self.a, signal, axis=0, zi=state)
        return out.astype(np.float32), new_state


def cascade(*stages: tuple[tuple, tuple]) -> tuple[tuple, tuple]:
    """One filter equal to the given ones in series (their polynomials multiplied)."""
    b, a = np.array([1.0]), np.array([1.0])
    for sb, sa in stages:
        b, a = np.convolve(b, sb), np.convolve(a, sa)
    return tuple(b), tuple(a)


# -- waveshaping ------------------------------------------------------------------------------

def saturate(signal: np.ndarray, drive: float) -> np.ndarray:
    """tanh saturation normalised so that full scale stays full scale; ``drive``
    1 is nearly clean, 20 is fuzz."""
    if drive <= 1.0:
        return signal
    d = np.float32(drive)
    return np.tanh(signal * d) * np.float32(1.0 / math.tanh(drive))


def soft_clip(signal: np.ndarray, threshold: float = 0.6, ceiling: float = 1.0) -> np.ndarray:
    """Leave samples below ``threshold`` alone and bend louder ones smoothly towards
    ``ceiling`` (a mastering clipper: it rounds off drum transients the limiter
    would otherwise have to duck for)."""
    over = np.abs(signal) > threshold
    if not over.any():
        return signal
    out = signal.copy()
    x = out[over]
    span = np.float32(ceiling - threshold)
    bent = np.float32(threshold) + span * np.tanh((np.abs(x) - np.float32(threshold)) / span)
    out[over] = np.sign(x) * bent
    return out


# -- reverb -----------------------------------------------------------------------------------

#: Delay lengths of the feedback delay network, in samples at 48 kHz (mutually prime).
#: The shortest is longer than any block the engine asks for in one piece (the
#: 1920-frame default), so a whole block of the feedback loop is one vector step.
_FDN_DELAYS = np.array([2053, 2297, 2539, 2801, 3079, 3361, 3659, 3967])
_FDN_CHUNK = int(_FDN_DELAYS.min())
_FDN_SIZE = 1 << int(math.ceil(math.log2(_FDN_DELAYS.max() + _FDN_CHUNK + 1)))
#: Early reflections: (delay ms, gain) for each ear, at different times on the two sides (walls at
#: different distances), so the first echoes already widen the sound.
_EARLY = (((7.1, 0.25), (17.9, 0.18), (31.1, 0.13), (43.3, 0.09)),
          ((11.3, 0.23), (23.7, 0.16), (37.9, 0.12), (47.3, 0.08)))
_EARLY_SIZE = 4096  # samples of send history the early reflections read
_LEFT = np.array([1, -1, 1, -1, 1, -1, 1, -1], dtype=np.float32)
_RIGHT = np.array([1, 1, -1, -1, 1, 1, -1, -1], dtype=np.float32)


@dataclass(frozen=True)
class ReverbState:
    lines: np.ndarray       # (8, _FDN_SIZE) delay lines
    written: int            # samples written so far (the write position, modulo _FDN_SIZE)
    damping: np.ndarray     # lowpass state of each line's damping filter, (8, 1)
    history: np.ndarray     # the last _EARLY_SIZE input samples (mono send)


class Reverb:
    """A stereo reverb: early reflections from a tapped delay, then an 8-line
    feedback delay network with a Hadamard mixing matrix and frequency-dependent
    decay (a lowpass in each line), its decay time set per block."""

    def initial(self) -> ReverbState:
        return ReverbState(np.zeros((8, _FDN_SIZE), dtype=np.float32), 0, np.zeros((8, 1)),
                           np.zeros(_EARLY_SIZE, dtype=np.float32))

    def __call__(self, send: np.ndarray, state: ReverbState, seconds: float,
                 damping_hz: float) -> tuple[np.ndarray, ReverbState]:
        """Process a mono ``send``; returns the stereo wet signal and the new state."""
        frames = len(send)
        history = np.concatenate([state.history, send])
        early = np.zeros((frames, 2), dtype=np.float32)
        for channel, taps in enumerate(_EARLY):
            for ms, gain in taps:
                d = int(ms * RATE / 1000)
                early[:, channel] += np.float32(gain) * history[_EARLY_SIZE - d:_EARLY_SIZE - d + frames]
        # The network is fed the direct send and the early reflections, for density.
        feed = (send + np.float32(0.5) * (early[:, 0] + early[:, 1])).astype(np.float32)
        gains = (10.0 ** (-3.0 * _FDN_DELAYS / (max(seconds, 0.05) * RATE))).astype(np.float32)[:, None]
        pole = math.exp(-2.0 * math.pi * damping_hz / RATE)
        lines, written, damping = state.lines.copy(), state.written, state.damping
        out = np.empty((frames, 2), dtype=np.float32)
        done = 0
        while done < frames:
            n = min(_FDN_CHUNK, frames - done)
            read = (written - _FDN_DELAYS[:, None] + np.arange(n)[None, :]) & (_FDN_SIZE - 1)
            taps = np.take_along_axis(lines, read, axis=1)
            taps, damping = lfilter([1.0 - pole], [1.0, -pole], taps, axis=1, zi=damping)
            mixed = _hadamard(taps.astype(np.float32)) * gains
            mixed += feed[done:done + n][None, :] * np.float32(0.35)
            where = (written + np.arange(n)) & (_FDN_SIZE - 1)
            lines[:, where] = mixed
            # Left and right read the lines through two orthogonal rows of a Hadamard matrix,
            # so the two sides of the tail are decorrelated: width without a phasey centre.
            out[done:done + n, 0] = _LEFT @ taps
            out[done:done + n, 1] = _RIGHT @ taps
            written += n
            done += n
        out += early * np.float32(0.25)  # the late field (unscaled) is the room's body; early echoes a hint
        return out, ReverbState(lines, written & (_FDN_SIZE - 1), damping, history[-_EARLY_SIZE:].copy())


def _hadamard(x: np.ndarray) -> np.ndarray:
    """An 8x8 Hadamard matrix (scaled to be orthonormal) times ``x`` by three butterflies:
    exact elementwise arithmetic, so the loop gives the same samples whatever the chunking."""
    a, b = x[0::2], x[1::2]
    x = np.concatenate([a + b, a - b])
    a, b = x[0::2], x[1::2]
    x = np.concatenate([a + b, a - b])
    a, b = x[0::2], x[1::2]
    return np.concatenate([a + b, a - b]) * np.float32(1.0 / math.sqrt(8.0))


# -- loudness leveler -------------------------------------------------------------------------

#: ITU-R BS.1770 K-weighting at 48 kHz (its published coefficients): a high shelf, then a highpass.
K_WEIGHTING = cascade(
    ((1.53512485958697, -2.69169618940638, 1.19839281085285), (1.0, -1.69065929318241, 0.73248077421585)),
    ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621)),
)


@dataclass(frozen=True)
class LevelerState:
    weighting: np.ndarray   # K-weighting filter state
    power: np.ndarray       # the smoothed K-weighted power at the last sample (shape (1,))


class Leveler:
    """Slow automatic gain towards a target loudness (LUFS).

    It measures K-weighted power as BS.1770 does, smooths it over ``seconds``
    (``warmup_seconds`` during the stream's first ``warmup`` seconds, so a loud or
    quiet style is at its level soon after the start), and applies the gain that
    brings it to the target, within ``range_db`` either way. Below ``gate`` LUFS it
    holds its gain rather than boosting silence. The switch of time constant
    happens at an absolute sample, so the output does not depend on block sizes.
    """

    def __init__(self, seconds: float = 2.0, range_db: float = 12.0, gate: float = -45.0,
                 warmup: float = 2.0, warmup_seconds: float = 0.4):
        self._smooth = self._one_pole(seconds)
        self._fast = self._one_pole(warmup_seconds)
        self._warmup = int(warmup * RATE)
        self._range = range_db
        self._gate = 10.0 ** ((gate + 0.691) / 10.0)

    @staticmethod
    def _one_pole(seconds: float) -> tuple[tuple, tuple]:
        pole = math.exp(-1.0 / (seconds * RATE))
        return (1.0 - pole,), (1.0, -pole)

    def initial(self, target: float) -> LevelerState:
        power = 10.0 ** ((target + 0.691) / 10.0)
        return LevelerState(np.zeros((4, 2)), np.array([power]))

    def __call__(self, signal: np.ndarray, state: LevelerState, target: float,
                 start: int = 1 << 62) -> tuple[np.ndarray, LevelerState]:
        weighted, weighting = lfilter(*K_WEIGHTING, signal, axis=0, zi=state.weighting)
        power = weighted[:, 0] ** 2 + weighted[:, 1] ** 2
        # The smoother's state is its last output: a one-pole's state is pole * output, so
        # storing the output lets the two time constants hand over without a jump.
        split = min(max(self._warmup - start, 0), len(power))
        smoothed = np.empty_like(power)
        last = state.power
        for (b, a), part in ((self._fast, slice(0, split)), (self._smooth, slice(split, len(power)))):
            if part.stop > part.start:
                smoothed[part], _ = lfilter(b, a, power[part], zi=-a[1] * last)
                last = smoothed[part][-1:]
        wanted = 10.0 ** ((target + 0.691) / 10.0)
        ratio = wanted / np.maximum(smoothed, self._gate)
        limit = 10.0 ** (self._range / 10.0)
        gain = np.sqrt(np.clip(ratio, 1.0 / limit, limit)).astype(np.float32)
        return signal * gain[:, None], LevelerState(weighting, np.asarray(last, dtype=np.float64))


# -- limiter ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LimiterState:
    reduction: float  # the gain reduction (dB) at the last sample, before release


class Limiter:
    """A peak limiter with instant attack and an exponential (linear-in-dB) release.

    The release is the recursion ``r[n] = max(need[n], r[n-1] - step)``,
    which unrolls to ``max_k(need[k] + k*step) - n*step``: a cumulative
    maximum, so a whole block is a few vector operations. No sample leaves
    above ``ceiling``.
    """

    def __init__(self, ceiling_db: float = -1.5, release: float = 0.12):
        self.ceiling = undb(ceiling_db)
        self._step = 20.0 / (release * RATE)  # dB per sample: 20 dB in ``release`` seconds

    def initial(self) -> LimiterState:
        return LimiterState(0.0)

    def __call__(self, signal: np.ndarray, state: LimiterState) -> tuple[np.ndarray, LimiterState]:
        peak = np.abs(signal).max(axis=1)
        need = 20.0 * np.log10(np.maximum(peak, 1e-9) / self.ceiling)
        if need.max() <= 0.0 and state.reduction <= 0.0:
            return signal, state
        n = np.arange(1, len(signal) + 1, dtype=np.float64)
        ramp = np.maximum(need, 0.0) + n * self._step
        held = np.maximum.accumulate(np.maximum(ramp, state.reduction))
        reduction = np.maximum(held - n * self._step, 0.0)
        gain = (10.0 ** (-reduction / 20.0)).astype(np.float32)
        out = signal * gain[:, None]
        # A hair of float rounding must not let a sample through above the ceiling.
        np.clip(out, -self.ceiling, self.ceiling, out=out)
        return out, LimiterState(float(reduction[-1]))


def replace_state(state, **changes):
    """dataclasses.replace, named for what it is used for here."""
    return replace(state, **changes)
