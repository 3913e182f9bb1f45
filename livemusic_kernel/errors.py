"""The exceptions livemusic-kernel raises, one small hierarchy per subsystem.

Every message names the problem and, where there is one, the fix. Catch
:class:`LmkError` to catch everything the package raises on purpose.
"""

from __future__ import annotations


class LmkError(Exception):
    """Base class of every error raised by livemusic-kernel."""


# -- styles -----------------------------------------------------------------

class StyleError(LmkError):
    """A prompt or style could not be built or combined."""


class StyleSpaceError(StyleError, ValueError):
    """Two styles from different backends' spaces were combined."""


# -- backends ---------------------------------------------------------------

class BackendError(LmkError):
    """A backend could not be found, loaded or run."""


class MissingExtraError(BackendError, ImportError):
    """A backend needs an optional dependency that is not installed."""

    def __init__(self, what: str, extra: str, package: str | None = None):
        self.extra = extra
        hint = f"pip install 'livemusic-kernel[{extra}]'"
        detail = f" (package {package!r})" if package else ""
        super().__init__(f"{what} needs the optional extra {extra!r}{detail}: install it with {hint}")


# -- engine and sinks -------------------------------------------------------

class EngineError(LmkError):
    """The engine was used in a way its current state does not allow."""


class SinkError(LmkError):
    """An audio output could not be opened or written."""


class PortAudioMissingError(SinkError):
    """sounddevice is installed but the PortAudio library is not."""

    HINT = ("install PortAudio: 'apt-get install libportaudio2' (Debian/Ubuntu), "
            "'brew install portaudio' (macOS); on Windows the sounddevice wheel ships it")

    def __init__(self, detail: str = ""):
        super().__init__(f"PortAudio was not found ({detail or 'library not loadable'}); {self.HINT}")


class NoOutputDeviceError(SinkError):
    """PortAudio is present but there is no output device to play to."""


# -- audio injection ------------------------------------------------------

class InjectionError(LmkError):
    """Audio could not be injected into the model's context."""


class InputDeviceError(InjectionError):
    """An input device (microphone, line input, JACK client) could not be found or opened."""


class LatencyError(InjectionError):
    """The audio interface's round-trip latency could not be measured or read."""


# -- sessions ---------------------------------------------------------------

class SessionError(LmkError):
    """A session log or session script could not be read or run."""
