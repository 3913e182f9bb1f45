"""Audio clips: reading files and arrays into one shape for embedding and injection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import StyleError

__all__ = ["AudioClip", "load_audio"]


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Audio as float32 ``(frames, channels)`` samples at ``sample_rate``."""

    samples: np.ndarray = field(repr=False)
    sample_rate: int

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise StyleError(f"an audio clip needs a positive sample rate, got {self.sample_rate}")
        if self.samples.ndim != 2 or self.samples.shape[0] == 0 or self.samples.shape[1] == 0:
            raise StyleError(f"an audio clip is (frames, channels) with frames > 0 and channels > 0, "
                             f"got shape {self.samples.shape}")
        if not np.all(np.isfinite(self.samples)):
            raise StyleError("an audio clip must be finite; it holds NaN or infinity")

    @classmethod
    def from_array(cls, samples: np.ndarray, sample_rate: int = 48000) -> AudioClip:
        """Accepts mono ``(frames,)`` or ``(frames, channels)`` arrays of any float or int dtype."""
        array = np.asarray(samples)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise StyleError(f"audio must be (frames,) or (frames, channels), got shape {array.shape}")
        if np.issubdtype(array.dtype, np.integer):
            # PCM convention (as libsndfile reads files): full scale is 2**(bits-1), so
            # int16 -32768 is -1.0; unsigned samples are offset by half their range.
            info = np.iinfo(array.dtype)
            half = (float(info.max) - float(info.min) + 1.0) / 2.0
            array = (array - (float(info.min) + half)) / half
        # Always a copy: the clip must neither follow later writes to the caller's
        # array nor make the caller's array read-only.
        array = np.array(array, dtype=np.float32, order="C", copy=True)
        array.setflags(write=False)
        return cls(array, int(sample_rate))

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def mono(self) -> np.ndarray:
        """The channel average, float32 ``(frames,)``."""
        return self.samples.mean(axis=1, dtype=np.float32)

    def resampled(self, sample_rate: int) -> AudioClip:
        """The clip at another sample rate (polyphase, band-limited)."""
        if sample_rate == self.sample_rate:
            return self
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sample_rate, self.sample_rate)
        out = resample_poly(self.samples, sample_rate // g, self.sample_rate // g, axis=0)
        return AudioClip.from_array(out.astype(np.float32), sample_rate)


def load_audio(path: str | Path) -> AudioClip:
    """Read an audio file (WAV, FLAC, OGG, AIFF, and MP3 where libsndfile has it)."""
    import soundfile

    path = Path(path).expanduser()
    if not path.is_file():
        raise StyleError(f"audio file not found: {path} (give the path of a WAV, FLAC, OGG or AIFF file)")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, soundfile.LibsndfileError) as error:  # TypeError: a .raw name
        formats = ", ".join(sorted(soundfile.available_formats()))
        raise StyleError(f"cannot read {path} as audio ({error}); readable formats: {formats}") from None
    if samples.shape[0] == 0:
        raise StyleError(f"audio file {path} holds no samples")
    return AudioClip.from_array(samples, rate)
