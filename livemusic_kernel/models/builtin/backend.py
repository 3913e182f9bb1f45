"""The builtin backend: a descriptor-conditioned generative music model on one CPU core.

Text prompts embed through the curated vocabulary (``text.py``), audio
prompts by analysis (``analysis.py``), both into the descriptor space of
``space.py``; the composer and generator (``composer.py``, ``generator.py``)
play any point of that space as continuous 48 kHz stereo music locked to the
engine's tempo clock. It honours every control the neural backends have:
weighted prompts and morphs, temperature, top-k, guidance and seed (see
``composer.py`` for what each means here), held notes, and the tempo lock
Magenta RT lacks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...audio import AudioClip
from ...style import Style
from ..base import SAMPLING_CONTROLS, Backend, BlockRequest, Capabilities
from .analysis import AudioEmbedder
from .generator import Generator, StreamState
from .space import BUILTIN_SPACE, DIMENSIONS, index, neutral_vector, tempo_to_bpm
from .text import TextEmbedder

__all__ = ["BuiltinBackend", "COMPARED"]

#: The dimensions a style comparison reads: those an audio analysis measures
#: (the key, which a single-word prompt does not set, is checked on its own).
_MEASURED = getattr(AudioEmbedder, "MEASURED", ("tempo", "brightness", "density", "energy", "mode",
                                                 "drums", "bass", "harmony"))
COMPARED = tuple(d for d in _MEASURED if not d.startswith("key_"))
_COMPARED_INDEX = np.array([index(d) for d in COMPARED])


class BuiltinBackend(Backend):
    """The default model: musical, steerable, deterministic, real time on one core."""

    name = "builtin"
    block_size = 1920
    capabilities = Capabilities(tempo_lock=True, variable_blocks=True, notes=True, audio_injection=False,
                                audio_prompts=True, sampling=frozenset(SAMPLING_CONTROLS))
    style_space = BUILTIN_SPACE

    def __init__(self) -> None:
        self._text = TextEmbedder()
        self._audio = AudioEmbedder()
        self._generator = Generator()
        self._neutral = Style(neutral_vector(), BUILTIN_SPACE, "neutral")

    # -- embedding ------------------------------------------------------------------------
    def embed_text(self, text: str) -> Style:
        return self._text.embed(text)

    def embed_audio(self, clip: AudioClip) -> Style:
        return self._audio.embed(clip)

    def default_style(self) -> Style:
        return self._neutral

    def similarity(self, a: Style, b: Style) -> float:
        """The cosine of two styles' departures from the neutral style, over the
        dimensions an audio analysis measures (:data:`COMPARED`): two prompts
        that set nothing in common score 0, the same prompt 1."""
        a._check_same_space(b, "compare")
        neutral = self._neutral.vector[_COMPARED_INDEX]
        x = a.vector[_COMPARED_INDEX] - neutral
        y = b.vector[_COMPARED_INDEX] - neutral
        norms = float(np.linalg.norm(x) * np.linalg.norm(y))
        return float(x @ y / norms) if norms > 1e-12 else 0.0

    def preferred_bpm(self, style: Style) -> float:
        """The tempo a style is usually played at: its ``tempo`` dimension in BPM."""
        return round(tempo_to_bpm(float(style.vector[index("tempo")])), 1)

    # -- streaming ------------------------------------------------------------------------
    def initial_state(self) -> StreamState:
        return self._generator.initial_state()

    def step(self, state: StreamState, request: BlockRequest) -> tuple[np.ndarray, StreamState]:
        style = request.controls.style or self._neutral
        audio, after = self._generator.step(state, request, style.vector)
        feedback = request.controls.feedback_gain
        if feedback != 1.0:  # its own output at that level in what it hears (the injection control)
            own = self._generator._listener.hear(state.listener, audio * np.float32(feedback), request.start)
            after = replace(after, listener=own)
        return audio, after

    def hear(self, state: StreamState, audio: np.ndarray, start: int) -> StreamState:
        """Mix other audio (a performer's injected input, 48 kHz, starting at absolute sample
        ``start``) into what the model hears of its context: from the next bar, the key
        follows it as far as guidance lets the prompt give way."""
        return self._generator.hear(state, audio, start)


assert len(DIMENSIONS) == BUILTIN_SPACE.size
