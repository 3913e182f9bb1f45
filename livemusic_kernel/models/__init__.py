"""Backends: the protocol and the registry of models the engine can run.

Backends are imported lazily, so a heavy model's dependencies are only needed
when that model is asked for; a missing one raises :class:`MissingExtraError`
naming the pip extra to install.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import BackendError
from .base import INJECT_MODES, INJECTION_CONTROLS, SAMPLING_CONTROLS, Backend, BlockRequest, Capabilities, Controls

__all__ = ["Backend", "BlockRequest", "Capabilities", "Controls", "SAMPLING_CONTROLS", "INJECTION_CONTROLS",
           "INJECT_MODES",
           "BACKENDS", "DEFAULT_BACKEND", "get_backend", "backend_class", "available_backends"]

#: Registry name -> "module:class", imported on first use.
BACKENDS: dict[str, str] = {
    "builtin": "livemusic_kernel.models.builtin.backend:BuiltinBackend",
    "click": "livemusic_kernel.models.click:ClickBackend",
    "magenta": "livemusic_kernel.models.magenta:MagentaBackend",
}

#: The backend used when none is named: the builtin generative model, which runs anywhere.
DEFAULT_BACKEND = "builtin"


def available_backends() -> list[str]:
    return sorted(BACKENDS)


def backend_class(name: str) -> type[Backend]:
    """A backend's class from its registry name, without making one (which may load a model):
    for reading its ``capabilities`` or ``name``. A ValueError lists the valid names."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(available_backends())}")
    module_name, class_name = BACKENDS[name].split(":")
    return getattr(import_module(module_name), class_name)


def get_backend(backend: str | Backend | None = None, **options) -> Backend:
    """A backend instance from its registry name (or the instance itself)."""
    if isinstance(backend, Backend):
        if options:
            raise BackendError(f"options {sorted(options)} apply to a backend name, not an instance")
        return backend
    name = DEFAULT_BACKEND if backend is None else str(backend)
    cls = backend_class(name)
    try:
        return cls(**options)
    except TypeError as error:
        raise BackendError(f"backend {name!r} does not take these options: {error}") from None
