"""Replaying a logged session: the same changes at the same samples, bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .engine import Engine
from .errors import SessionError
from .models import get_backend
from .recorder import WavRecorder, read_wav
from .session import Session, read_session

__all__ = ["render_session"]


def render_session(log: str | Path, out: str | Path, *, subtype: str = "float32",
                   frames: int | None = None, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Render the session logged in ``log`` to the WAV file ``out``.

    Rebuilds the engine from the log's header (backend, block size, tempo,
    seed, ...), posts every logged change at the sample it landed on, hands
    the backend the injected input it heard (from the ``.input.wav`` beside
    the log) before the same steps, and
    renders the session's length (or ``frames``, for a part of it, or for a
    session killed before it could log its end). Returns ``(frames written,
    sample rate)``.
    """
    backends: dict[str, object] = {}

    def space_for(name: str, options: dict):
        try:
            backends[name] = backends.get(name) or get_backend(name, **options)
        except ValueError as error:
            raise SessionError(f"the session was played with backend {name!r}: {error}") from None
        return backends[name].style_space

    session = read_session(log, space_for)
    header = session.header
    injected = _injected_input(session)
    try:
        engine = Engine(backends[header["backend"]], sink=None, bpm=header["bpm"],
                        beats_per_bar=header["beats_per_bar"], seed=header["seed"],
                        temperature=header["temperature"], top_k=header["top_k"],
                        guidance=header["guidance"], block_size=header["block_size"],
                        fade=header["fade"] / header["sample_rate"], follow_tempo=False, quiet=True)
        # follow_tempo=False: the log already holds every re-alignment the follower made.
    except KeyError as error:
        raise SessionError(f"{log}: the session header lacks {error}") from None
    total = session.length if frames is None else int(frames)
    if total < 0:
        raise ValueError(f"frames must be >= 0, got {frames}")
    chunk = 10 * engine.sample_rate  # bounded memory however long the session
    with engine, WavRecorder(out, engine.sample_rate, engine.channels, subtype) as recorder:
        for logged in session.changes:
            engine._post(logged.change, logged.sample, None)
        if injected is not None:
            engine._injector.replay(list(session.inputs), injected)
        done = 0
        while done < total:
            block = engine.render(frames=min(chunk, total - done))
            recorder.write(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
    return total, engine.sample_rate


def _injected_input(session: Session) -> np.ndarray | None:
    """The injected input the session's backend heard (the WAV beside the log), or None."""
    if not session.inputs:
        return None
    path = session.input_file
    try:
        audio, _ = read_wav(path)
    except Exception as error:
        raise SessionError(f"the session injected audio, kept in {path}, which cannot be read ({error}); "
                           f"keep the .input.wav beside its log to replay it") from None
    needed = sum(logged.frames for logged in session.inputs)
    if len(audio) < needed:
        raise SessionError(f"{path} holds {len(audio)} frames of injected input; the log needs {needed}: "
                           f"it belongs to another session or was cut")
    return audio
