"""Session logs (JSON lines) and session scripts.

A session log has one header line that says how to rebuild the engine
(backend, sample rate, block size, seed, tempo), then one line per control
change *as applied*, with the sample it took effect on, then an end line with
the length of the session. Replaying the changes at those samples through the
same backend reproduces the audio bit for bit. Every line is flushed as it is
written, so a killed session still leaves a log that replays up to the kill.

A session script is a Python file run with ``engine`` in its namespace; it
uses the live API (``engine.set_prompt``, ``engine.wait(beats=8)``, ...), so
the same piece runs live with ``lmk play --script`` and offline with
``lmk render --script``.
"""

from __future__ import annotations

import json
import runpy
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import SessionError
from .injection import LoggedInput
from .timeline import Change, SetBackend, change_from_json

if TYPE_CHECKING:
    from .engine import Engine
    from .style import StyleSpace

__all__ = ["SessionLog", "LoggedChange", "Session", "read_session", "run_script", "LOG_VERSION"]

LOG_VERSION = 1


class SessionLog:
    """Writes a session log, one flushed JSON line at a time."""

    def __init__(self, path: str | Path, header: dict[str, Any]):
        self.path = Path(path)
        try:
            self._file: TextIO | None = open(self.path, "w", encoding="utf-8")
        except OSError as error:
            raise SessionError(f"cannot write the session log {self.path}: {error.strerror}") from None
        self._write({"type": "session", "version": LOG_VERSION, **header})

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def change(self, sample: int, change: Change, *, seq: int, asked: int | None,
               beat: str | None) -> None:
        self._write({"type": "change", "sample": sample, "kind": change.kind, "seq": seq,
                     "asked": asked, "beat": beat, "data": change.to_json()})

    def note(self, sample: int, what: str, message: str) -> None:
        """A line replay ignores (errors, backend messages), kept for the record."""
        self._write({"type": "note", "sample": sample, "what": what, "message": message})

    def input_file(self, name: str) -> None:
        """Name the float32 WAV beside the log that holds the injected input (written once)."""
        self._write({"type": "input_file", "name": name})

    def input(self, sample: int, start: int, frames: int) -> None:
        """Injected input handed to the backend before the step at ``sample``: the next
        ``frames`` frames of the input WAV, placed in the context at ``start``."""
        self._write({"type": "input", "sample": sample, "start": start, "frames": frames})

    def close(self, end_sample: int) -> None:
        self._write({"type": "end", "sample": end_sample})
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class LoggedChange:
    sample: int
    change: Change


@dataclass(frozen=True)
class Session:
    """A parsed session log."""

    header: dict[str, Any]
    changes: tuple[LoggedChange, ...]
    end_sample: int | None  # None when the session was killed before it could end the log
    #: Injected input as the backend got it, in order, and the WAV beside the log that holds it.
    inputs: tuple[LoggedInput, ...] = ()
    input_file: Path | None = None

    @property
    def length(self) -> int:
        """Samples to render: the logged end, or just past the last change."""
        if self.end_sample is not None:
            return self.end_sample
        return max((c.sample for c in self.changes), default=0)


def read_session(path: str | Path, space_for: callable[[str, dict], StyleSpace]) -> Session:
    """Parse a session log. ``space_for(backend_name, backend_options)`` gives the style space of
    the backend the session started with, built with the options the header records."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SessionError(f"cannot read session log {path}: {error.strerror}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                break  # a kill mid-write leaves one partial last line: the rest is good
            raise SessionError(f"{path}:{number}: not a JSON line ({error.msg})") from None
    if not records or records[0].get("type") != "session":
        raise SessionError(f"{path} is not a session log: the first line must be the session header")
    header = records[0]
    if header.get("version") != LOG_VERSION:
        raise SessionError(f"{path}: session log version {header.get('version')!r}, "
                           f"this lmk reads version {LOG_VERSION}")
    space = space_for(header["backend"], header.get("backend_options", {}))
    changes, end, inputs, input_file = [], None, [], None
    for record in records[1:]:
        if record.get("type") == "change":
            try:
                change = change_from_json(record["kind"], record["data"], space)
            except (KeyError, TypeError, ValueError) as error:
                raise SessionError(f"{path}: bad change line {record!r}: {error}") from None
            changes.append(LoggedChange(int(record["sample"]), change))
            if isinstance(change, SetBackend):
                space = change.backend.style_space  # later lines embed in the new model's space
        elif record.get("type") == "input":
            try:
                inputs.append(LoggedInput(int(record["sample"]), int(record["start"]), int(record["frames"])))
            except (KeyError, TypeError, ValueError) as error:
                raise SessionError(f"{path}: bad input line {record!r}: {error}") from None
        elif record.get("type") == "input_file":
            input_file = path.with_name(str(record.get("name")))
        elif record.get("type") == "end":
            end = int(record["sample"])
    if inputs and input_file is None:
        raise SessionError(f"{path} logs injected input but names no input WAV; the log was cut or edited")
    return Session(header, tuple(changes), end, tuple(inputs), input_file)


def run_script(engine: Engine, path: str | Path) -> None:
    """Run a session script with ``engine`` (and the package's API) in its namespace.

    An exception in the script is printed with its traceback and the session
    goes on with what the script did so far: a mistake never stops the music.
    """
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"session script not found: {path}")
    import livemusic_kernel

    namespace = {name: getattr(livemusic_kernel, name) for name in livemusic_kernel.__all__}
    namespace["engine"] = engine
    try:
        runpy.run_path(str(path), init_globals=namespace, run_name="__lmk_session__")
    except SystemExit:
        pass
    except Exception:
        print(f"lmk: the session script {path} raised; the session goes on:", file=sys.stderr)
        traceback.print_exc()
