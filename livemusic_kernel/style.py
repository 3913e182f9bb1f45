"""Prompts, styles and the algebra that blends them.

A :class:`Prompt` is symbolic: a piece of text or of audio, with a weight. It
means the same thing to every backend. A :class:`Style` is what a backend makes
of a prompt: a vector in that backend's :class:`StyleSpace`. Styles of one space
add, subtract, scale, blend and interpolate; styles of two spaces never mix,
because their coordinates mean different things.

The everyday way to steer is a set of named prompt slots (:class:`Slots`). Each
slot keeps its symbolic prompt next to its embedding, so when the backend
changes every slot is embedded again in the new space. The style in force is
the papers' weighted average ``c = sum(w_i * M(p_i)) / sum(w_i)``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from .errors import StyleError, StyleSpaceError

if TYPE_CHECKING:
    from .audio import AudioClip
    from .models.base import Backend

__all__ = [
    "StyleSpace", "Style", "Prompt", "Slot", "Slots",
    "blend", "lerp", "slerp", "PromptLike", "AUDIO_SUFFIXES",
]

#: File name suffixes that make a string prompt an audio prompt.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


@dataclass(frozen=True)
class StyleSpace:
    """The coordinate system of one backend's styles.

    ``name`` identifies the space (backend and version, e.g. ``"click/1"``);
    ``dimensions`` names each coordinate where the coordinates mean something
    a person can read (they are empty for learned spaces such as MusicCoCa).
    """

    name: str
    size: int
    dimensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"a style space needs at least one dimension, got size={self.size}")
        if self.dimensions and len(self.dimensions) != self.size:
            raise ValueError(
                f"style space {self.name!r}: {len(self.dimensions)} dimension names for size {self.size}")

    def __str__(self) -> str:
        return self.name


class Style:
    """A point in one backend's style space.

    Immutable: every operation returns a new style. Supports ``+``, ``-``,
    unary ``-``, multiplication and division by a real number, and
    ``np.asarray(style)``.
    """

    __slots__ = ("_vector", "_space", "label")

    # Makes NumPy defer to Style's own operators, so ``np.float64(2) * style``
    # is a Style (without this NumPy converts the style and returns an array).
    __array_ufunc__ = None

    def __init__(self, vector: Iterable[float] | np.ndarray, space: StyleSpace, label: str = ""):
        array = np.array(vector, dtype=np.float64).reshape(-1)
        if array.shape[0] != space.size:
            raise StyleError(
                f"a style of space {space.name!r} has {space.size} values, got {array.shape[0]}")
        if not np.all(np.isfinite(array)):
            raise StyleError(f"a style must be finite; got NaN or infinity in space {space.name!r}")
        array.setflags(write=False)
        self._vector = array
        self._space = space
        #: A human-readable description of where the style came from.
        self.label = label

    # -- accessors ------------------------------------------------------------
    @property
    def vector(self) -> np.ndarray:
        """The coordinates, as a read-only float64 array."""
        return self._vector

    @property
    def space(self) -> StyleSpace:
        return self._space

    def __array__(self, dtype=None, copy=None):
        return self._vector if dtype is None else self._vector.astype(dtype)

    def __len__(self) -> int:
        return self._space.size

    def norm(self) -> float:
        return float(np.linalg.norm(self._vector))

    def as_dict(self) -> dict[str, float]:
        """Coordinates by dimension name (index names for unnamed spaces)."""
        names = self._space.dimensions or tuple(str(i) for i in range(self._space.size))
        return {name: float(value) for name, value in zip(names, self._vector, strict=True)}

    def strongest(self, count: int = 5) -> list[tuple[str, float]]:
        """The ``count`` coordinates of largest magnitude, strongest first."""
        items = list(self.as_dict().items())
        items.sort(key=lambda item: -abs(item[1]))
        return items[:count]

    # -- algebra --------------------------------------------------------------
    def _check_same_space(self, other: Style, verb: str) -> None:
        if other._space != self._space:
            raise StyleSpaceError(
                f"cannot {verb} a style of space {self._space.name!r} and one of space "
                f"{other._space.name!r}: styles live in one backend's space. Embed the prompt "
                f"again with the other backend (Slots re-embed automatically).")

    def _with(self, vector: np.ndarray, label: str) -> Style:
        return Style(vector, self._space, label)

    def __add__(self, other: object) -> Style:
        if not isinstance(other, Style):
            return NotImplemented
        self._check_same_space(other, "add")
        return self._with(self._vector + other._vector, f"({self.label} + {other.label})")

    def __sub__(self, other: object) -> Style:
        if not isinstance(other, Style):
            return NotImplemented
        self._check_same_space(other, "subtract")
        return self._with(self._vector - other._vector, f"({self.label} - {other.label})")

    def __neg__(self) -> Style:
        return self._with(-self._vector, f"-{self.label}")

    def __mul__(self, factor: object) -> Style:
        if not _is_real(factor):
            return NotImplemented
        return self._with(self._vector * float(factor), f"{_fmt(factor)}*{self.label}")

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> Style:
        if not _is_real(divisor):
            return NotImplemented
        if float(divisor) == 0.0:
            raise StyleError("cannot divide a style by zero")
        return self._with(self._vector / float(divisor), f"{self.label}/{_fmt(divisor)}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Style):
            return NotImplemented
        return self._space == other._space and bool(np.array_equal(self._vector, other._vector))

    def __hash__(self) -> int:
        # ``+ 0.0`` turns -0.0 into 0.0: they compare equal, so they must hash equal.
        return hash((self._space, (self._vector + 0.0).tobytes()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value:.3g}" for name, value in self.strongest(4))
        more = "" if self._space.size <= 4 else ", ..."
        label = f" {self.label!r}" if self.label else ""
        return f"<Style{label} in {self._space.name}: {shown}{more}>"

    # -- serialisation --------------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-ready dict that :meth:`from_json` turns back into an equal style."""
        # Python's float repr round-trips exactly, which replay's bit-exactness relies on.
        return {"space": self._space.name, "vector": [float(v) for v in self._vector],
                "label": self.label}

    @classmethod
    def from_json(cls, data: Mapping, space: StyleSpace) -> Style:
        if data.get("space") != space.name:
            raise StyleSpaceError(
                f"the stored style belongs to space {data.get('space')!r}, not {space.name!r}")
        return cls(data["vector"], space, data.get("label", ""))


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) or isinstance(value, np.floating)


def _fmt(value: object) -> str:
    return f"{float(value):g}"


# -- blending and interpolation ---------------------------------------------

def blend(styles: Iterable[Style], weights: Iterable[float] | None = None) -> Style:
    """The weighted average ``sum(w_i * s_i) / sum(w_i)`` of styles of one space.

    Weights must be finite and non-negative with a positive sum; they are
    normalised, so ``blend([a, b], [2, 2])`` equals ``blend([a, b], [1, 1])``.
    """
    styles = list(styles)
    if not styles:
        raise StyleError("blend() needs at least one style")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles):
        raise StyleError(f"blend() got {len(styles)} styles but {len(weights)} weights")
    for w in weights:
        if not math.isfinite(w) or w < 0:
            raise StyleError(f"blend weights must be finite and >= 0, got {w}")
    total = sum(weights)
    if total <= 0:
        raise StyleError("blend weights sum to zero: give at least one style a positive weight")
    first = styles[0]
    for other in styles[1:]:
        first._check_same_space(other, "blend")
    # Divide by the largest weight first, so huge weights cannot overflow (nor tiny
    # ones underflow) and one style blends to exactly itself.
    peak = max(weights)
    weights = [w / peak for w in weights]
    total = sum(weights)
    vector = sum(w * s.vector for w, s in zip(weights, styles, strict=True)) / total
    label = " + ".join(f"{w / total:.2g}*{s.label}" for w, s in zip(weights, styles, strict=True))
    return Style(vector, first.space, label)


def _check_t(t: float) -> float:
    t = float(t)
    if not math.isfinite(t):
        raise StyleError(f"the interpolation position must be finite, got {t}")
    return t


def lerp(a: Style, b: Style, t: float) -> Style:
    """Linear interpolation: ``a`` at ``t=0``, ``b`` at ``t=1``."""
    t = _check_t(t)
    a._check_same_space(b, "interpolate")
    return Style((1.0 - t) * a.vector + t * b.vector, a.space, f"lerp({a.label}, {b.label}, {t:g})")


def slerp(a: Style, b: Style, t: float) -> Style:
    """Spherical interpolation: the direction moves along the great circle from
    ``a`` to ``b`` while the length moves linearly between their lengths.

    This keeps the norm of the path from sagging between two embeddings, as a
    straight line does between normalised embeddings such as MusicCoCa's.
    Falls back to :func:`lerp` where the great circle is undefined (a zero
    style, or two styles pointing the same or opposite ways).
    """
    t = _check_t(t)
    a._check_same_space(b, "interpolate")
    norm_a, norm_b = a.norm(), b.norm()
    if norm_a == 0.0 or norm_b == 0.0:
        return lerp(a, b, t)
    unit_a, unit_b = a.vector / norm_a, b.vector / norm_b
    cosine = float(np.clip(np.dot(unit_a, unit_b), -1.0, 1.0))
    omega = math.acos(cosine)
    if math.sin(omega) < 1e-6:
        return lerp(a, b, t)
    direction = (math.sin((1 - t) * omega) * unit_a + math.sin(t * omega) * unit_b) / math.sin(omega)
    length = (1 - t) * norm_a + t * norm_b
    return Style(direction * length, a.space, f"slerp({a.label}, {b.label}, {t:g})")


# -- prompts ----------------------------------------------------------------

PromptLike = Union["Prompt", str, Path, np.ndarray, "AudioClip", Style]


@dataclass(frozen=True, eq=False)
class Prompt:
    """A symbolic prompt: text or audio, with a weight.

    Build one with :meth:`of_text` or :meth:`of_audio`, or let :meth:`of`
    decide: a string ending in an audio suffix (``.wav``, ``.flac``, ...), a
    :class:`~pathlib.Path` or an array is audio, any other string is text. ``0.5 * prompt`` scales the weight.
    """

    kind: str  # "text" or "audio"
    text: str = ""
    path: Path | None = None
    clip: AudioClip | None = field(default=None, repr=False)
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("text", "audio"):
            raise ValueError(f"a prompt's kind is 'text' or 'audio', got {self.kind!r}")
        _check_weight(self.weight)

    @classmethod
    def of_text(cls, text: str, weight: float = 1.0) -> Prompt:
        text = str(text).strip()
        if not text:
            raise StyleError("a text prompt cannot be empty: give a few words such as 'minimal techno'")
        return cls("text", text=text, weight=float(weight))

    @classmethod
    def of_audio(cls, source: str | Path | np.ndarray | AudioClip, weight: float = 1.0,
                 sample_rate: int = 48000) -> Prompt:
        """An audio prompt from a file, an array ``(frames[, channels])`` or a clip."""
        from .audio import AudioClip

        if isinstance(source, AudioClip):
            return cls("audio", clip=source, weight=float(weight))
        if isinstance(source, np.ndarray):
            return cls("audio", clip=AudioClip.from_array(source, sample_rate), weight=float(weight))
        return cls("audio", path=Path(source).expanduser(), weight=float(weight))

    @classmethod
    def of(cls, source: PromptLike, weight: float | None = None) -> Prompt:
        """Coerce ``source`` to a prompt; ``weight`` overrides the prompt's own."""
        if isinstance(source, Prompt):
            return source if weight is None else replace(source, weight=float(weight))
        if isinstance(source, Style):
            raise StyleError("a Style is already embedded; set it with set_style() or a Slots entry")
        w = 1.0 if weight is None else float(weight)
        if isinstance(source, str):
            if source.strip().lower().endswith(AUDIO_SUFFIXES):
                # A mistyped path must not quietly become a text prompt: check it now.
                path = Path(source.strip()).expanduser()
                if not path.is_file():
                    raise StyleError(f"audio file not found: {path} (a prompt ending in "
                                     f"{path.suffix} is read as a file path)")
                return cls.of_audio(path, w)
            return cls.of_text(source, w)
        return cls.of_audio(source, w)

    def __mul__(self, factor: object) -> Prompt:
        if not _is_real(factor):
            return NotImplemented
        return replace(self, weight=self.weight * float(factor))

    __rmul__ = __mul__

    def load(self) -> AudioClip:
        """The audio of an audio prompt, read from its file if it has one."""
        from .audio import load_audio

        if self.kind != "audio":
            raise StyleError(f"the text prompt {self.text!r} has no audio")
        return self.clip if self.clip is not None else load_audio(self.path)

    def describe(self) -> dict:
        """A JSON-ready description, as written to session logs."""
        if self.kind == "text":
            return {"kind": "text", "text": self.text, "weight": self.weight}
        if self.path is not None:
            return {"kind": "audio", "path": str(self.path), "weight": self.weight}
        digest = hashlib.sha1(self.clip.samples.tobytes()).hexdigest()[:16]
        return {"kind": "audio", "array": digest, "frames": self.clip.frames,
                "sample_rate": self.clip.sample_rate, "weight": self.weight}

    @classmethod
    def from_description(cls, data: Mapping) -> Prompt | None:
        """The prompt a :meth:`describe` dict stands for; ``None`` for in-memory
        audio, which a log cannot hold (replay uses the logged style instead)."""
        if data.get("kind") == "text":
            return cls.of_text(data["text"], data.get("weight", 1.0))
        if data.get("kind") == "audio" and "path" in data:
            return cls.of_audio(data["path"], data.get("weight", 1.0))
        return None

    def __str__(self) -> str:
        what = self.text if self.kind == "text" else (str(self.path) if self.path else "<audio array>")
        return f"{what} ({self.weight:g})"

    def __repr__(self) -> str:
        return f"Prompt({self.kind}: {self})"


def _check_weight(weight: float) -> float:
    weight = float(weight)
    if not math.isfinite(weight) or weight < 0:
        raise StyleError(f"a weight must be a finite number >= 0, got {weight}")
    return weight


# -- slots ------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """One named prompt slot: a prompt (or a bare style), its weight and its embedding."""

    name: str
    style: Style
    weight: float = 1.0
    prompt: Prompt | None = None  # None when the slot was set to a bare Style

    def describe(self) -> dict:
        return {"slot": self.name, "weight": self.weight,
                "prompt": None if self.prompt is None else self.prompt.describe(),
                "style": self.style.to_json()}


class Slots(Mapping[str, Slot]):
    """An immutable, ordered set of named prompt slots.

    Every change returns a new :class:`Slots`, so the engine's worker can hold
    one as the state in force while user code prepares the next.
    """

    __slots__ = ("_slots",)

    def __init__(self, slots: Iterable[Slot] = ()):
        self._slots: dict[str, Slot] = {slot.name: slot for slot in slots}

    def __getitem__(self, name: str) -> Slot:
        try:
            return self._slots[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self._slots) or "none"
            raise KeyError(f"no prompt slot {name!r}; slots: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        inner = ", ".join(f"{slot.name}={slot.prompt or slot.style.label!s}@{slot.weight:g}"
                          for slot in self._slots.values())
        return f"Slots({inner})"

    def with_slot(self, slot: Slot) -> Slots:
        slots = dict(self._slots)
        slots[slot.name] = slot
        return Slots(slots.values())

    def with_weight(self, name: str, weight: float) -> Slots:
        return self.with_slot(replace(self[name], weight=_check_weight(weight)))

    def without(self, name: str) -> Slots:
        self[name]  # raises a KeyError that lists the slots
        return Slots(slot for key, slot in self._slots.items() if key != name)

    def style(self) -> Style | None:
        """The blended style of all slots, or ``None`` when no slot has weight."""
        live = [slot for slot in self._slots.values() if slot.weight > 0]
        if not live:
            return None
        return blend([slot.style for slot in live], [slot.weight for slot in live])

    def reembed(self, backend: Backend) -> Slots:
        """The same slots embedded in ``backend``'s space.

        Raises :class:`StyleSpaceError` for a slot that holds a bare style of
        another space, since only prompts can be embedded again.
        """
        slots = []
        for slot in self._slots.values():
            if slot.style.space == backend.style_space:
                slots.append(slot)
            elif slot.prompt is None:
                raise StyleSpaceError(
                    f"slot {slot.name!r} holds a bare style of space {slot.style.space.name!r}, "
                    f"which cannot be re-embedded for {backend.style_space.name!r}: set it again "
                    f"with a text or audio prompt")
            else:
                slots.append(replace(slot, style=backend.embed(slot.prompt)))
        return Slots(slots)
