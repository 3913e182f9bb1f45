"""Every widget together, laid out as one instrument: what ``engine.ui()`` shows.

The layout is a grid that adapts to the notebook's width: on a wide page the
Transport and Player share the top row, the prompts and the XY pad the middle,
the Scope and the Timeline the next, audio injection the bottom; on a narrow one they stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets

from ..engine import Engine
from .injection import Injection
from .mixer import PromptMixer
from .player import Player
from .scope import Scope
from .timeline import Timeline
from .transport import Transport
from .xypad import DEFAULT_CORNERS, XYPad

__all__ = ["Instrument"]


class Instrument(ipywidgets.VBox):
    """The Transport, Player, PromptMixer, XYPad, Scope, Timeline and Injection of one engine.

    Each is an attribute (``ui.mixer``, ``ui.player``, ...) and works alone
    too; ``corners`` are the XY pad's prompts and ``player`` the Player's
    options (``{"encoding": "float32", "lead_ms": 500}``). ``close()`` closes them all.
    """

    def __init__(self, engine: Engine, *, corners: Sequence[str] = DEFAULT_CORNERS,
                 player: dict[str, Any] | None = None, **kwargs: Any):
        self.engine = engine
        self.transport = Transport(engine)
        self.player = Player(engine, **(player or {}))
        self.mixer = PromptMixer(engine)
        self.xy = XYPad(engine, corners)
        self.scope = Scope(engine)
        self.timeline = Timeline(engine)
        self.inject = Injection(engine)
        parts = {"transport": self.transport, "player": self.player, "mixer": self.mixer, "xy": self.xy,
                 "scope": self.scope, "timeline": self.timeline, "inject": self.inject}
        for area, widget in parts.items():
            widget.add_class(f"lmk-area-{area}")
        grid = ipywidgets.Box(list(parts.values()))
        grid.add_class("lmk-instrument")
        super().__init__([grid], **kwargs)
        self.add_class("lmk-stage")
        self._parts = list(parts.values())

    def close(self) -> None:
        """Close every widget (their threads stop following the engine)."""
        for widget in self._parts:
            widget.close()
        for child in self.children:
            child.close()
        super().close()
