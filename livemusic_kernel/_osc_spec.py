"""The shape of an OSC address: what the generated table is made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Arg:
    """One argument: ``kind`` is ``s`` (string), ``f`` (number), ``i`` (whole number)
    or ``*`` (everything that follows); with a ``default`` it is optional."""

    name: str
    kind: str
    default: Any = _MISSING

    @property
    def optional(self) -> bool:
        return self.default is not _MISSING or self.kind == "*"


@dataclass(frozen=True)
class Address:
    address: str
    args: tuple[Arg, ...]
    handler: str
    timed: bool = False
