"""What can go wrong before Magenta RT 2 makes a sound, each with its fix."""

from __future__ import annotations

from pathlib import Path

from ...errors import BackendError

__all__ = ["UnsupportedPlatformError", "WeightsMissingError", "InjectionUnavailableError", "RealTimeWarning"]


class UnsupportedPlatformError(BackendError):
    """The ``magenta-rt`` package does not run here."""


class WeightsMissingError(BackendError, FileNotFoundError):
    """A checkpoint or resource file of Magenta RT 2 is not on disk."""

    def __init__(self, what: str, path: Path, command: str, home: Path):
        self.path = path
        super().__init__(
            f"{what} not found at {path}. Download it with `{command}` (the `mrt` command comes with "
            f"livemusic-kernel[magenta]); it saves under {home}. To keep the files elsewhere, set the "
            f"MAGENTA_HOME environment variable or pass magenta_home= (the folder holding magenta-rt-v2/). "
            f"Or try backend options model='tiny', a small random model that needs no download.")


class InjectionUnavailableError(BackendError):
    """Injection and prefill need the codec's encoder, and this model has none."""


class RealTimeWarning(UserWarning):
    """The model is too slow on this machine to stream without underruns at the default lead."""
