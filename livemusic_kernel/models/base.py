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
from ..style import Prompt, Style, StyleSpace
from ..tempo import TempoMap

__all__ = ["Backend", "Capabilities", "Controls", "BlockRequest", "SAMPLING_CONTROLS"]

#: Names of the sampling controls a backend may honour.
SAMPLING_CONTROLS = ("temperature", "top_k", "guidance", "seed")


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

    def close(self) -> None:
        """Release resources (models, threads). The default does nothing."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "sample_rate": self.sample_rate, "channels": self.channels,
                "block_size": self.block_size, "style_space": self.style_space.name,
                "capabilities": self.capabilities.describe()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.sample_rate} Hz, block {self.block_size}>"
