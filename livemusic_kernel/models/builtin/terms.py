"""The vocabulary's unit: a term and the descriptor values it stands for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Term", "KINDS"]

#: What a term names.
KINDS = ("genre", "instrument", "mood", "production")


@dataclass(frozen=True)
class Term:
    """A word or phrase the text embedding knows.

    ``name`` is canonical: lowercase, singular, words separated by single
    spaces ("steel drum"). ``values`` sets some dimensions of the builtin
    style space (names from ``space.DIMENSIONS``, each value in 0..1); the
    dimensions it leaves out stay free for other words of the prompt.
    ``aliases`` are other spellings that mean the same ("808", "tr 808").
    """

    name: str
    kind: str
    values: Mapping[str, float] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
