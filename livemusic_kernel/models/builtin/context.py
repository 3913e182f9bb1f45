"""What the builtin model hears of its recent context: the hook audio injection feeds.

The generator keeps the last few seconds of its context audio, decimated to
12 kHz mono, in two parts: its own output, and input from outside (a
performer's injected audio, through :meth:`Listener.hear` with
``outside=True``). At the start of every bar it measures the mix of the two:
the pitch-class profile, how clearly it states a key, and how much of it came
from outside. The composer reads that :class:`Context` when it chooses the key:
the model's own output only confirms the key it plays (an estimate from a few
seconds of music can land a fifth or a relative away, and must not walk the
key), while input from outside leads it as far as guidance lets the prompt
give way.

Like the rest of the stream, the listener is a pure function of its state and
its input, and gives the same result however the stream is cut into blocks:
decimation keeps the samples whose absolute index is a multiple of 4.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.signal import butter, lfilter

__all__ = ["Context", "Listener", "ListenerState", "CONTEXT_SECONDS"]

_FACTOR = 4
RATE = 48000 // _FACTOR
_WINDOW = 1 << 14  # 1.4 s frames: fine enough to tell semitones apart down to 55 Hz
_LENGTH = 3 * _WINDOW
#: Seconds of context kept and measured (three frames, about four seconds).
CONTEXT_SECONDS = _LENGTH / RATE
_ANTI_ALIAS = butter(4, 5000.0, fs=48000, output="ba")


@dataclass(frozen=True)
class Context:
    """What the model hears in its recent context audio."""

    #: Pitch-class profile of the recent audio (12 values summing to 1, C first), or None.
    chroma: tuple[float, ...] | None = None
    #: How clearly it states a key: the best key profile's correlation, 0..1.
    key_strength: float = 0.0
    #: The share of the context's energy that came from outside (injected input), 0..1.
    outside: float = 0.0
    #: Where the outside input's notes fell in the last bar: onset strength per sixteenth, the
    #: strongest 1 (None when nothing came from outside in that bar).
    onsets: tuple[float, ...] | None = None
    #: How much of the last bar the outside input was sounding, 0..1.
    playing: float = 0.0
    #: The pitch classes the outside input played in the last bar, strongest first (at most four).
    pitches: tuple[int, ...] = ()


@dataclass(frozen=True)
class Track:
    """The last few seconds of one source, decimated, and where they end (in decimated samples)."""

    audio: np.ndarray
    filter: np.ndarray
    end: int = 0


@dataclass(frozen=True)
class ListenerState:
    own: Track
    outside: Track


class Listener:
    """Keeps and measures the context audio (see the module docstring)."""

    def initial(self) -> ListenerState:
        def empty():
            return Track(np.zeros(_LENGTH, dtype=np.float32), np.zeros(len(_ANTI_ALIAS[1]) - 1))

        return ListenerState(empty(), empty())

    def hear(self, state: ListenerState, audio: np.ndarray, start: int, *, outside: bool = False) -> ListenerState:
        """Add a block of context audio (stereo or mono, 48 kHz) that starts at absolute sample
        ``start``: the model's own output, or, with ``outside``, input from outside."""
        if outside:
            return replace(state, outside=_keep(state.outside, audio, start))
        return replace(state, own=_keep(state.own, audio, start))

    def measure(self, state: ListenerState, grid: tuple[int, ...] = ()) -> Context:
        """The pitch-class profile of the context, how clearly it states a key, and the share
        of it that came from outside; with ``grid`` (the absolute samples of the last bar's
        sixteenths and of its end), what the outside input played in that bar."""
        from .analysis import KEY_PROFILES

        own, outside = state.own, _aligned(state.outside, state.own.end)
        heard = own.audio + outside
        frames = heard.reshape(-1, _WINDOW)
        if not frames.any():
            return Context()
        spectrum = np.abs(np.fft.rfft(frames * np.hanning(_WINDOW), axis=1)) ** 2
        freqs = np.fft.rfftfreq(_WINDOW, 1.0 / RATE)
        usable = (freqs >= 55.0) & (freqs <= 2000.0)
        pitch_class = np.round(12 * np.log2(freqs[usable] / 440.0) + 9).astype(int) % 12
        # Log-compressed, so a loud bass note does not drown the harmony above it.
        power = spectrum[:, usable]
        energy = np.log1p(100.0 * power / (power.max() + 1e-20)).sum(axis=0)
        chroma = np.bincount(pitch_class, weights=energy, minlength=12)
        if chroma.sum() <= 0 or chroma.std() == 0:
            return Context()
        chroma = chroma / chroma.sum()
        strength = max(float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
                       for profile in KEY_PROFILES.values() for tonic in range(12))
        total = float(np.sum(heard.astype(np.float64) ** 2))
        share = float(np.sum(outside.astype(np.float64) ** 2)) / total if total > 0 else 0.0
        context = Context(tuple(float(c) for c in chroma), max(0.0, strength), min(1.0, share))
        return _bar_played(context, outside, own.end, grid) if len(grid) > 1 and share > 0 else context


_FRAME = 128  # 10.7 ms at 12 kHz: onsets are placed to a sixteenth, far coarser


def _bar_played(context: Context, outside: np.ndarray, end: int, grid: tuple[int, ...]) -> Context:
    """What the outside input played over the bar whose sixteenths start at ``grid`` (absolute
    48 kHz samples; the last entry is the bar's end)."""
    # From two frames before the bar, so an onset on its downbeat is a rise like any other.
    first = grid[0] // _FACTOR - (end - _LENGTH) - 2 * _FRAME
    last = grid[-1] // _FACTOR - (end - _LENGTH)
    first, last = max(first, 0), min(last, _LENGTH)
    if last - first < 4 * _FRAME:
        return context
    segment = outside[first:last].astype(np.float64)
    frames = segment[: len(segment) // _FRAME * _FRAME].reshape(-1, _FRAME)
    energy = (frames ** 2).mean(axis=1)
    loudest = float(energy.max())
    if loudest < 1e-8:
        return context
    sounding = float(np.mean(energy > loudest * 1e-2))
    level = np.log10(energy + loudest * 1e-4)
    rise = np.maximum(np.diff(level, prepend=level[0]), 0.0)
    steps = []
    for sample in grid[:-1]:
        at = (sample // _FACTOR - (end - _LENGTH) - first) // _FRAME
        window = rise[max(at - 1, 0):max(at + 3, 0)]
        steps.append(float(window.max()) if len(window) else 0.0)
    steps = np.array(steps)
    onsets = tuple(float(x) for x in steps / steps.max()) if steps.max() > 0 else None
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)))) ** 2
    freqs = np.fft.rfftfreq(len(segment), 1.0 / RATE)
    usable = (freqs >= 80.0) & (freqs <= 2000.0)
    pitch_class = np.round(12 * np.log2(freqs[usable] / 440.0) + 9).astype(int) % 12
    chroma = np.bincount(pitch_class, weights=spectrum[usable], minlength=12)
    strongest = [int(pc) for pc in np.argsort(-chroma)[:4] if chroma[pc] > 0.1 * chroma.max()]
    return replace(context, onsets=onsets, playing=sounding, pitches=tuple(strongest))


def _keep(track: Track, audio: np.ndarray, start: int) -> Track:
    """The track moved on by a decimated block of ``audio`` that starts at absolute sample ``start``."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    smooth, zi = lfilter(*_ANTI_ALIAS, mono, zi=track.filter)
    kept = smooth[(-start) % _FACTOR::_FACTOR].astype(np.float32)
    end = (start + len(mono) + _FACTOR - 1) // _FACTOR
    gap = max(0, end - len(kept) - track.end)  # samples nobody played into this track: silence
    fresh = np.concatenate([np.zeros(min(gap, _LENGTH), dtype=np.float32), kept]) if gap else kept
    if len(fresh) >= _LENGTH:
        return Track(fresh[-_LENGTH:], zi, end)
    return Track(np.concatenate([track.audio[len(fresh):], fresh]), zi, end)


def _aligned(track: Track, end: int) -> np.ndarray:
    """A track's audio as it sits in a span ending at ``end``: what it has not reached is silent."""
    lag = end - track.end
    if lag <= 0:
        return track.audio
    if lag >= _LENGTH:
        return np.zeros(_LENGTH, dtype=np.float32)
    return np.concatenate([track.audio[lag:], np.zeros(lag, dtype=np.float32)])
