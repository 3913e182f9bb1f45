"""The conditioning tokens of one Magenta RT 2 frame: style, notes, drums and CFG scales.

The model reads one vector of tokens per 40 ms frame, laid out by its
``input_configs`` (for the released models: 12 MusicCoCa tokens, 128 piano-roll
tokens, one drum token, and three discretised CFG scales). This module builds
that vector the way ``MagentaRT2System._build_conditioning`` does: values in
the configs' order, -1 for "masked" (the model decides), every token shifted by
the reserved ids plus the dropout token.

Notes follow the package's C++ engine (``MLXEngine::populate_condition_tokens``):
pitches nobody holds are masked; a held pitch is 3 ("on, as onset or
continuation") or, with ``onsets``, 2 on its first frame and 1 after; with an
``unmask_width`` of w, the pitches within w semitones of a held one are 0
("off"), which keeps the model from playing near the held notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from magenta_rt.config import (
    DRUM_PIANOROLL,
    MUSICCOCA,
    NUM_RESERVED_TOKENS,
    PIANOROLL_WITH_ONSETS,
    TokensConfig,
)
from magenta_rt.jax.system import discretize_cfg

__all__ = ["Conditioning", "note_tokens", "MASKED"]

#: The token value that leaves an input to the model.
MASKED = -1
_OFF, _CONTINUATION, _ONSET, _ON = 0, 1, 2, 3
_PITCHES = 128


def note_tokens(held: Iterable[int], before: Iterable[int] = (), *, onsets: bool = False,
                unmask_width: int = 0) -> np.ndarray:
    """The 128 piano-roll tokens for a frame where ``held`` are down and ``before``
    were down in the frame before."""
    tokens = np.full(_PITCHES, MASKED, np.int32)
    held, before = sorted(set(held)), set(before)
    for pitch in held:
        tokens[max(0, pitch - unmask_width):pitch + unmask_width + 1] = _OFF
    for pitch in held:
        tokens[pitch] = (_CONTINUATION if pitch in before else _ONSET) if onsets else _ON
    return tokens


class Conditioning:
    """Lays out one frame's tokens for a model's ``input_configs``."""

    def __init__(self, input_configs: Sequence[TokensConfig]):
        self.configs = tuple(input_configs)
        self.channels = sum(config.rvq_truncation_level for config in self.configs)
        self.style_levels = next(c.rvq_truncation_level for c in self.configs if c.key == MUSICCOCA.key)

    def tokens(self, style: np.ndarray | None, notes: np.ndarray | None, drums: bool | None,
               cfg: dict[str, float]) -> np.ndarray:
        """``style``: MusicCoCa tokens (-1 masks a level) or None; ``notes``: 128
        piano-roll tokens or None; ``drums``: play them, leave them out, or None
        for the model to decide; ``cfg``: scales for ``musiccoca``, ``notes``, ``drums``."""
        given = {MUSICCOCA.key: style, PIANOROLL_WITH_ONSETS.key: notes,
                 DRUM_PIANOROLL.key: None if drums is None else [int(drums)]}
        values: list[int] = []
        for config in self.configs:
            if config.cfg_scale_keys:
                values += [discretize_cfg(cfg[key], config.step, config.codebook_size - 1)
                           for key in config.cfg_scale_keys][:config.rvq_truncation_level]
            elif given.get(config.key) is not None:
                values += [int(v) for v in np.asarray(given[config.key])[:config.rvq_truncation_level]]
            else:
                values += [MASKED] * config.rvq_truncation_level
        # +1: the conditioning vocabulary has a dropout token after the reserved ids.
        return np.asarray(values, np.int32) + NUM_RESERVED_TOKENS + 1
