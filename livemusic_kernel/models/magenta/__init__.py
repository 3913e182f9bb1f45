"""Magenta RealTime 2 as a backend: ``Engine(backend="magenta")``.

Needs ``pip install 'livemusic-kernel[magenta]'`` (the ``magenta-rt`` package
with JAX; importing this module does not import them) and, for the released
models, weights downloaded with ``mrt checkpoints download mrt2_small`` and
``mrt models init``. ``model="tiny"`` is a small random model that needs no
download. docs/magenta.md has the details: hardware, weights, remote GPUs.
"""

from .backend import (
    FRAME,
    MODELS,
    MUSICCOCA_SPACE,
    RANDOM_SPACE,
    MagentaBackend,
    MagentaState,
    check_platform,
    choose_frames_per_block,
    realtime_advice,
)
from .errors import InjectionUnavailableError, RealTimeWarning, UnsupportedPlatformError, WeightsMissingError

__all__ = ["MagentaBackend", "MagentaState", "MODELS", "FRAME", "MUSICCOCA_SPACE", "RANDOM_SPACE",
           "check_platform", "choose_frames_per_block", "realtime_advice",
           "InjectionUnavailableError", "RealTimeWarning", "UnsupportedPlatformError", "WeightsMissingError"]
