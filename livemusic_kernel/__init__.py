"""livemusic-kernel: a live music model as an instrument for live coders.

The public API, in one place::

    from livemusic_kernel import Engine
    engine = Engine(bpm=120)                      # the default backend, the sound card
    engine.set_prompt("main", "minimal techno")
    engine.start()
    engine.set_prompt("air", "flute", weight=0.3, at_beat=16)
"""

from ._version import __version__
from .audio import AudioClip, load_audio
from .clock import Clock, LiveClock, OfflineClock
from .engine import LATENCY_PRESETS, Engine, EventHandle, ListenerHandle
from .errors import (
                     BackendError,
                     EngineError,
                     InjectionError,
                     InputDeviceError,
                     LatencyError,
                     LmkError,
                     MissingExtraError,
                     NoOutputDeviceError,
                     PortAudioMissingError,
                     SessionError,
                     SinkError,
                     StyleError,
                     StyleSpaceError,
)
from .injection import InjectionHandle
from .live_prompt import LivePrompt
from .metrics import Figures, Summary
from .models import (
                     DEFAULT_BACKEND,
                     Backend,
                     BlockRequest,
                     Capabilities,
                     Controls,
                     available_backends,
                     get_backend,
)
from .recorder import WavRecorder, read_wav
from .replay import render_session
from .sinks import NullSink, Sink, SoundcardSink, list_devices
from .sources import ArraySource, FileSource, GeneratorSource, InputDevice, PushSource, Source
from .style import Prompt, Slot, Slots, Style, StyleSpace, blend, lerp, slerp
from .tempo import TempoMap

__all__ = [
    "__version__",
    # engine
    "Engine", "EventHandle", "ListenerHandle", "LATENCY_PRESETS", "Figures", "Summary",
    # styles
    "Prompt", "Style", "StyleSpace", "Slot", "Slots", "blend", "lerp", "slerp",
    # backends
    "Backend", "BlockRequest", "Capabilities", "Controls", "DEFAULT_BACKEND",
    "available_backends", "get_backend",
    # time
    "Clock", "LiveClock", "OfflineClock", "TempoMap",
    # audio in and out
    "AudioClip", "load_audio", "Sink", "NullSink", "SoundcardSink", "list_devices",
    "WavRecorder", "read_wav", "render_session",
    # audio injection
    "InjectionHandle", "LivePrompt", "Source", "PushSource", "FileSource", "ArraySource", "GeneratorSource",
    "InputDevice",
    # errors
    "LmkError", "StyleError", "StyleSpaceError", "BackendError", "MissingExtraError",
    "EngineError", "SinkError", "PortAudioMissingError", "NoOutputDeviceError", "SessionError",
    "InjectionError", "InputDeviceError", "LatencyError",
]
