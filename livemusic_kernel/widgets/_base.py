"""What every widget of the instrument shares.

**Front-end files.** The ES modules, the CSS and the AudioWorklet processor live
in the repository's top-level ``widgets/`` folder; the wheel ships them inside
this package as ``frontend/`` (a link to that folder in a source checkout).

**Requests from the browser.** Lasting state lives in traitlets, which the
browser only reads. Everything a browser asks for (a drag, an upload, play)
arrives as a custom message ``{"type": ..., "id": ..., ...}``; its handler
checks every value before it touches the engine, and the kernel replies
``{"type": "reply", "id": ..., "ok": true}`` or ``{"ok": false, "error": ...}``.
A bad value gets an error reply and the last good state stays: nothing a
browser sends ever raises into the kernel's comm handler.

**Following the engine.** Each widget polls the engine on the widgets' poll
thread (:mod:`._watch`) and updates its traits under its own lock, so changes
made from code, OSC or clock callbacks show up in every view.
"""

from __future__ import annotations

import io
import math
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..audio import AudioClip
from ..engine import Engine
from ._watch import Subscription, watch

__all__ = ["InstrumentWidget", "request", "frontend_file", "frontend_source", "Pending",
           "number", "integer", "text", "flag", "finite", "clock_state", "uploaded_audio", "MAX_UPLOAD", "decibels"]

#: The largest audio file a browser may upload, in bytes.
MAX_UPLOAD = 64 * 1024 * 1024


def _frontend_dir() -> Path:
    here = Path(__file__).resolve().parent
    # In a wheel: the package's own copy. In a checkout where the link did not survive
    # (Windows without symlinks): the repository's widgets/ folder itself.
    for folder in (here / "frontend", here.parents[1] / "widgets"):
        if (folder / "shared.js").is_file():
            return folder
    raise FileNotFoundError(f"the widgets' front-end files are missing from {here / 'frontend'}; "
                            f"reinstall livemusic-kernel")


FRONTEND = _frontend_dir()


def frontend_file(name: str) -> Path:
    """A file of the widgets' front end (anywidget reads it and sends it to the browser)."""
    return FRONTEND / name


def frontend_source(name: str) -> str:
    return (FRONTEND / name).read_text(encoding="utf-8")


def request(kind: str) -> Callable:
    """Mark a method as the handler of browser requests of type ``kind``.

    The handler gets the message's content and buffers; it returns a JSON-ready
    result (or None) and raises ``ValueError`` (or any error) to refuse.
    """
    def mark(fn: Callable) -> Callable:
        fn._lmk_request = kind
        return fn
    return mark


# -- checking what the browser sends ----------------------------------------------------------------

_MISSING = object()


def _missing(content: Mapping, key: str, default: Any) -> bool:
    """True when ``key`` is absent and has a default (returned as it is, unchecked)."""
    if key in content:
        return False
    if default is _MISSING:
        raise ValueError(f"the request has no {key!r}")
    return True


def number(content: Mapping, key: str, low: float, high: float, default: Any = _MISSING) -> float:
    """A finite number in ``[low, high]`` from a browser request."""
    if _missing(content, key, default):
        return default
    value = content[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def integer(content: Mapping, key: str, low: int, high: int, default: Any = _MISSING) -> int:
    if _missing(content, key, default):
        return default
    value = content[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be a whole number from {low} to {high}, got {value!r}")
    return value


def text(content: Mapping, key: str, max_length: int = 500, default: Any = _MISSING) -> str:
    """Non-empty text of at most ``max_length`` characters, stripped."""
    if _missing(content, key, default):
        return default
    value = content[key]
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise ValueError(f"{key} must be non-empty text of at most {max_length} characters, got {value!r:.80}")
    return value.strip()


def flag(content: Mapping, key: str, default: Any = _MISSING) -> bool:
    if _missing(content, key, default):
        return default
    value = content[key]
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def finite(value: float, digits: int = 3) -> float | None:
    """A number ready for JSON: rounded, and None where it is NaN or infinite."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def uploaded_audio(buffers: list, name: str, instead: str) -> AudioClip:
    """An audio file a browser sent as one binary buffer, read by libsndfile from memory.
    ``instead`` says what to do with a file too large to upload (it ends the error message)."""
    import soundfile

    if len(buffers) != 1:
        raise ValueError(f"an audio upload carries the file as one binary buffer, got {len(buffers)}")
    data = bytes(buffers[0])
    if not data:
        raise ValueError(f"{name} is empty")
    if len(data) > MAX_UPLOAD:
        raise ValueError(f"{name} is {len(data) / 2**20:.0f} MB; the largest upload is "
                         f"{MAX_UPLOAD // 2**20} MB: trim it, or {instead}")
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, soundfile.LibsndfileError) as error:
        formats = ", ".join(sorted(soundfile.available_formats()))
        raise ValueError(f"cannot read {name} as audio ({error}); readable formats: {formats}") from None
    if not len(samples):
        raise ValueError(f"{name} holds no samples")
    if not np.isfinite(samples).all():
        raise ValueError(f"{name} holds NaN or infinite samples")
    return AudioClip.from_array(samples, rate)


def decibels(level: float) -> float:
    """A level in dBFS, rounded for display; -120 stands for silence."""
    return round(20 * math.log10(max(level, 1e-6)), 1)


def clock_state(engine: Engine) -> dict[str, Any]:
    """Where the music is: what a view needs to tick the beat along between updates."""
    return {"beat": round(float(engine.beat), 4), "bpm": round(engine.bpm, 4),
            "beats_per_bar": engine.beats_per_bar, "running": engine.running}


class Pending:
    """Values a view asked for that the engine has not reached yet.

    A drag posts a change that lands a block or two later; a poll in between
    would read the old value and send it back, making the control jump. So a
    requested value is shown until the engine shows it too, or ``timeout``
    seconds pass (the change was refused or overtaken): then the engine wins.
    """

    def __init__(self, timeout: float = 1.0):
        self.timeout = timeout
        self._values: dict[Any, tuple[Any, float]] = {}

    def expect(self, key: Any, value: Any) -> None:
        self._values[key] = (value, time.monotonic() + self.timeout)

    def forget(self, key: Any) -> None:
        self._values.pop(key, None)

    def waiting(self, kind: str) -> list[Any]:
        """The keys ``(kind, name)`` still waiting, oldest first, as names."""
        return [key[1] for key in self._values if isinstance(key, tuple) and key[0] == kind]

    def shown(self, key: Any, engine_value: Any) -> Any:
        """What to show for ``key``, given what the engine has now."""
        if key not in self._values:
            return engine_value
        wanted, deadline = self._values[key]
        if _same(wanted, engine_value) or time.monotonic() > deadline:
            del self._values[key]
            return engine_value
        return wanted


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _describe(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])  # KeyError's str() adds quotes around the message
    return str(error) or type(error).__name__


class InstrumentWidget(anywidget.AnyWidget):
    """The base of every widget: front-end files, checked requests and engine polling."""

    _css = frontend_file("instrument.css")
    #: Helpers every view imports (sent once per widget; the browser caches the module).
    _shared = traitlets.Unicode(frontend_source("shared.js")).tag(sync=True)
    _requests: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._requests = {fn._lmk_request: name
                         for klass in reversed(cls.__mro__) for name, fn in vars(klass).items()
                         if hasattr(fn, "_lmk_request")}

    def __init__(self, engine: Engine, **kwargs: Any):
        if not isinstance(engine, Engine):
            raise TypeError(f"a widget steers an Engine; got {type(engine).__name__}")
        self.engine = engine
        self._lock = threading.RLock()
        self._subscriptions: list[Subscription] = []
        self._closers: list[Callable[[], None]] = []
        #: Requests refused since the widget was made, and the newest reason.
        self.refused = 0
        self.last_refusal: str | None = None
        super().__init__(**kwargs)
        self.on_msg(self._on_browser_message)

    # -- requests from the browser --------------------------------------------------------------------
    def _on_browser_message(self, _widget: Any, content: Any, buffers: Any) -> None:
        request_id = content.get("id") if isinstance(content, dict) else None
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if not isinstance(content, dict):
                raise ValueError(f"a request is a JSON object with a 'type', got {type(content).__name__}")
            name = self._requests.get(kind)
            if name is None:
                raise ValueError(f"unknown request {kind!r}; this widget takes: {', '.join(sorted(self._requests))}")
            with self._lock:
                result = getattr(self, name)(content, list(buffers or ()))
        except Exception as error:
            self.refused += 1
            self.last_refusal = f"{kind}: {_describe(error)}"
            if not isinstance(error, (ValueError, KeyError, TypeError, LookupError)):
                print(f"lmk widgets: {type(self).__name__} request {kind!r} failed\n{traceback.format_exc()}",
                      file=sys.stderr)
            self._reply(request_id, ok=False, error=_describe(error))
        else:
            self._reply(request_id, ok=True, result=result)

    def _reply(self, request_id: Any, **fields: Any) -> None:
        if not isinstance(request_id, (int, str)) or isinstance(request_id, bool):
            request_id = None
        self.send({"type": "reply", "id": request_id, **fields})

    def set_state(self, sync_data: dict) -> None:
        """A state update from a browser. The kernel owns every widget's state and views only
        send requests, so an update is refused, and every view gets the last good state back."""
        names = sorted(str(name) for name in sync_data) if isinstance(sync_data, dict) else []
        self.refused += 1
        self.last_refusal = f"state update of {', '.join(names)}"
        self._reply(None, ok=False, error=f"refused a state update of {', '.join(names) or 'nothing'}: "
                                          f"the kernel owns this widget's state; views send requests")
        known = [name for name in names if name in self.keys]
        if known:
            self.send_state(known)

    # -- following the engine ---------------------------------------------------------------------------
    def _follow(self, poll: Callable[[], None], every: float) -> None:
        """Call ``poll`` every ``every`` seconds on the widgets' poll thread, while the widget lives."""
        self._subscriptions.append(watch(poll, every))

    def _update(self, **values: Any) -> None:
        """Set traits that changed, as one message to the views."""
        with self._lock, self.hold_sync():
            for name, value in values.items():
                if getattr(self, name) != value:
                    setattr(self, name, value)

    def close(self) -> None:
        """Stop following the engine and close the views."""
        for subscription in getattr(self, "_subscriptions", ()):
            subscription.cancel()
        for closer in getattr(self, "_closers", ()):
            closer()
        super().close()
