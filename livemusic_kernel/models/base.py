"""The protocol every live music model implements.

A backend is stateless as an object: everything that changes while it plays
lives in a *state* value that :meth:`Backend.step` takes and returns. So the
engine can keep the last good state when a step fails, replay a session from
the start, or run two instances side by side.

One step turns ``(state, request)`` into ``(audio, new_state)``. The request
holds the block's absolute sample position, its musical position (beat) and
the :class:`Controls` in force for the whole block; the engine splits blocks
at control changes for backends that accept any block length
(``capabilities.variable_blocks``), so a change lands on its exact sample.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..audio import AudioClip
from ..errors import BackendError
from ..style import Prompt, Style, StyleSpace
from ..tempo import TempoMap

__all__ = ["Backend", "Capabilities", "Controls", "BlockRequest", "SAMPLING_CONTROLS", "INJECTION_CONTROLS",
           "INJECT_MODES"]

#: Names of the sampling controls a backend may honour.
SAMPLING_CONTROLS = ("temperature", "top_k", "guidance", "seed")
#: Names of the audio-injection controls (see :mod:`livemusic_kernel.injection`).
INJECTION_CONTROLS = ("inject_mode", "inject_gain", "feedback_gain", "input_gap", "loop_beats")
#: How injected input is placed in the context: at its true time, or one loop later.
INJECT_MODES = ("free", "looper")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so the engine and the user interfaces can adapt."""

    #: The model follows the engine's tempo clock (Magenta RT does not; it is followed instead).
    tempo_lock: bool = False
    #: step() accepts any number of frames, so controls land on their exact sample.
    variable_blocks: bool = False
    #: Takes held MIDI notes as conditioning.
    notes: bool = False
    #: Mixes live input into the model's context.
    audio_injection: bool = False
    #: Embeds audio prompts as well as text.
    audio_prompts: bool = True
    #: The sampling controls it honours, a subset of SAMPLING_CONTROLS.
    sampling: frozenset[str] = frozenset()
    #: Frames returned past the end of each block, for the engine to crossfade into the next.
    overlap: int = 0

    def describe(self) -> dict[str, Any]:
        return {"tempo_lock": self.tempo_lock, "variable_blocks": self.variable_blocks,
                "notes": self.notes, "audio_injection": self.audio_injection,
                "audio_prompts": self.audio_prompts, "sampling": sorted(self.sampling),
                "overlap": self.overlap}


@dataclass(frozen=True)
class Controls:
    """The controls in force for one block. Immutable; the engine builds a new
    one at every change."""

    #: The blended style, or None for the backend's neutral style.
    style: Style | None = None
    temperature: float = 1.1
    top_k: int = 40
    guidance: float = 4.0
    seed: int = 0
    bpm: Fraction = Fraction(120)
    beats_per_bar: int = 4
    #: Held MIDI note numbers, for backends with ``capabilities.notes``.
    notes: frozenset[int] = field(default_factory=frozenset)
    #: Audio injection (live music models paper, App. E): ``free`` mixes the performer's input
    #: into the context at its true time, ``looper`` the previous loop of ``loop_beats`` beats.
    inject_mode: str = "free"
    #: The input's level in the model's context.
    inject_gain: float = 1.0
    #: The model's own output's level in its context, for backends that mix it there.
    feedback_gain: float = 1.0
    #: Seconds at the newest end of the context left without input (it discourages copying).
    input_gap: float = 0.0
    #: The loop length of looper mode, in beats of the clock.
    loop_beats: float = 8.0


@dataclass(frozen=True)
class BlockRequest:
    """One step's worth of work: ``frames`` frames from absolute sample ``start``."""

    start: int
    frames: int
    #: The musical position (in beats since the engine started) of sample ``start``.
    beat: Fraction
    controls: Controls
    #: The tempo map in force, for backends that place events on beats inside a
    #: block, even while the tempo ramps (``controls.bpm`` is its value at ``start``).
    tempo: TempoMap | None = None


class Backend(ABC):
    """Base class of every model. Subclasses set the class attributes and
    implement the abstract methods; the rest is shared."""

    #: Registry name, as in ``Engine(backend="click")``.
    name: ClassVar[str]
    sample_rate: int = 48000
    channels: int = 2
    #: The native number of frames per step (the engine's default block size).
    block_size: int = 1920
    capabilities: Capabilities = Capabilities()
    style_space: StyleSpace

    # -- embedding ------------------------------------------------------------
    @abstractmethod
    def embed_text(self, text: str) -> Style:
        """The style of a text prompt."""

    @abstractmethod
    def embed_audio(self, clip: AudioClip) -> Style:
        """The style of a piece of audio (any length, rate and channel count)."""

    @abstractmethod
    def default_style(self) -> Style:
        """The style used while no prompt has weight."""

    def similarity(self, a: Style, b: Style) -> float:
        """How alike two styles of this backend are, from -1 to 1: the measure an
        evaluation compares an output's audio embedding with a prompt by (the papers'
        CLAP-style check). The default is the cosine of the two vectors."""
        a._check_same_space(b, "compare")
        norms = a.norm() * b.norm()
        return float(np.dot(a.vector, b.vector) / norms) if norms > 0 else 0.0

    def preferred_bpm(self, style: Style) -> float | None:
        """The tempo a style is usually played at, for backends that follow the engine's
        clock and know one (None otherwise): what an evaluation, or ``lmk`` without
        ``--bpm``, sets the clock to."""
        return None

    def embed(self, source: Prompt | str | Path | np.ndarray | AudioClip) -> Style:
        """Embed text or audio: a :class:`Prompt`, a string, a path, an array or a clip."""
        prompt = Prompt.of(source)
        if prompt.kind == "text":
            style = self.embed_text(prompt.text)
        else:
            style = self.embed_audio(prompt.load())
        style.label = style.label or str(prompt).rsplit(" (", 1)[0]
        return style

    # -- streaming ------------------------------------------------------------
    @abstractmethod
    def initial_state(self) -> Any:
        """The state before the first block."""

    @abstractmethod
    def step(self, state: Any, request: BlockRequest) -> tuple[np.ndarray, Any]:
        """Generate one block.

        Returns float32 audio of shape ``(request.frames + capabilities.overlap,
        channels)`` and the state after the block. Must not modify ``state``.
        """

    def inject(self, state: Any, audio: np.ndarray, *, start: int, gain: float = 1.0) -> Any:
        """Mix a performer's input into the model's context; returns the new state.

        Backends with ``capabilities.audio_injection`` implement it (see
        :mod:`livemusic_kernel.injection`). The engine calls it on the generation
        worker before a step, with float32 ``(frames, channels)`` audio at the
        backend's rate that begins at absolute sample ``start``, never before the
        step about to be generated: the model mixes it into the context of the
        samples it covers as it generates them. ``gain`` is the input's level in
        the context (``controls.inject_gain``); the other injection controls are
        in the next request's ``controls``. The input is never to be played back:
        it only shapes what the model continues. Must not modify ``state``.
        """
        raise BackendError(f"backend {self.name!r} takes no injected audio (capabilities.audio_injection is false)")

    def close(self) -> None:
        """Release resources (models, threads). The default does nothing."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "sample_rate": self.sample_rate, "channels": self.channels,
                "block_size": self.block_size, "style_space": self.style_space.name,
                "capabilities": self.capabilities.describe()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.sample_rate} Hz, block {self.block_size}>"
