"""Text prompts into the builtin style space, through a curated vocabulary.

A prompt is read word by word, longest phrase first ("drum and bass" before
"drum"), ignoring case, punctuation and plural forms ("Steel-Drums" finds
"steel drum"), with words joined as well as apart ("lo fi" finds "lofi").
Key phrases ("in D minor", "Eb major", "key of A") set the key's chroma and
the mode. Every term found sets some dimensions; each dimension of the
result is the mean of the terms that set it, and the neutral value where
none does, so "minimal techno with a flute" is techno's pulse, minimal's
sparseness and the flute's timbre at once.

An unknown word is never an error and never silence: it is ignored, with an
:class:`UnknownTermWarning` that lists the nearest known terms.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from ...style import Style
from .space import BUILTIN_SPACE, PITCH_CLASSES, index, neutral_vector
from .terms import KINDS, Term

__all__ = ["TextEmbedder", "UnknownTermWarning", "Vocabulary", "normalize", "default_vocabulary",
           "STOP_WORDS"]

#: Words that carry no style of their own.
STOP_WORDS = frozenset("""a an the and with of in on for some music musical song songs track tracks
    style styles sound sounds sounding vibe vibes feel feeling like plus or very really bit lot by
    kind sort type ish from into at to""".split())

_KEY = re.compile(r"\b(?:key of )?([a-g])\s*(#|b|sharp|flat)?\s*(major|minor|maj|min)\b")
_KEY_OF = re.compile(r"\bkey of ([a-g])\s*(#|b|sharp|flat)?\b")


class UnknownTermWarning(UserWarning):
    """A prompt word the vocabulary does not know (it was ignored)."""


def normalize(text: str) -> str:
    """Lowercase, with every run of punctuation and space made one space (``#`` and ``&`` kept)."""
    return " ".join(re.sub(r"[^a-z0-9#&]+", " ", text.lower()).split())


def _singulars(word: str) -> list[str]:
    forms = []
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        forms.append(word[:-1])
    return forms


class Vocabulary:
    """Terms by every phrase that names them."""

    def __init__(self, terms: Iterable[Term]):
        self.terms: tuple[Term, ...] = tuple(terms)
        self._phrases: dict[str, Term] = {}
        for term in self.terms:
            if term.kind not in KINDS:
                raise ValueError(f"term {term.name!r} has kind {term.kind!r}; kinds: {', '.join(KINDS)}")
            for dimension, value in term.values.items():
                index(dimension)  # raises for an unknown dimension
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"term {term.name!r}: {dimension} = {value} is outside 0..1")
            for phrase in (term.name, *term.aliases):
                if normalize(phrase) != phrase:
                    raise ValueError(f"term {term.name!r}: {phrase!r} is not in normal form ({normalize(phrase)!r})")
                if phrase in self._phrases and self._phrases[phrase] is not term:
                    raise ValueError(f"{phrase!r} names both {self._phrases[phrase].name!r} and {term.name!r}")
                self._phrases[phrase] = term
        self.longest = max((len(p.split()) for p in self._phrases), default=1)

    def __contains__(self, phrase: str) -> bool:
        return phrase in self._phrases

    def __len__(self) -> int:
        return len(self.terms)

    def find(self, phrase: str) -> Term | None:
        """The term a phrase names: as written, joined up, or in the singular."""
        words = phrase.split()
        candidates = [phrase, " ".join("and" if w == "&" else "&" if w == "and" else w for w in words)]
        if len(words) > 1:
            candidates.append("".join(words))
        candidates += [" ".join(words[:-1] + [s]) for s in _singulars(words[-1])]
        for candidate in candidates:
            if candidate in self._phrases:
                return self._phrases[candidate]
        return None

    def nearest(self, word: str, count: int = 3) -> list[str]:
        return difflib.get_close_matches(word, list(self._phrases), n=count, cutoff=0.5)

    def count(self, kind: str) -> int:
        return sum(1 for term in self.terms if term.kind == kind)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The shipped vocabulary: genres, instruments, moods and production words."""
    from . import vocab_genres, vocab_instruments, vocab_moods

    return Vocabulary(vocab_genres.TERMS + vocab_instruments.TERMS + vocab_moods.TERMS)


class TextEmbedder:
    """Embeds text prompts into the builtin style space."""

    def __init__(self, vocabulary: Vocabulary | None = None):
        self.vocabulary = vocabulary or default_vocabulary()

    def read(self, text: str) -> tuple[list[Term], dict[str, float], list[str]]:
        """What a prompt says: the terms found, the key settings, and the unknown words."""
        phrase = normalize(text)
        settings: dict[str, float] = {}
        match = _KEY.search(phrase) or _KEY_OF.search(phrase)
        if match:
            letter, accidental, quality = (match.groups() + (None,))[:3]
            tonic = PITCH_CLASSES.index(letter.upper())
            tonic = (tonic + {"#": 1, "sharp": 1, "b": -1, "flat": -1}.get(accidental or "", 0)) % 12
            for pc, name in enumerate(PITCH_CLASSES):
                settings[f"key_{name}"] = 1.0 if pc == tonic else 0.0
            if quality:
                settings["mode"] = 1.0 if quality.startswith("maj") else 0.0
            phrase = (phrase[:match.start()] + " " + phrase[match.end():]).strip()
        words = phrase.split()
        terms, unknown = [], []
        position = 0
        while position < len(words):
            for length in range(min(self.vocabulary.longest, len(words) - position), 0, -1):
                term = self.vocabulary.find(" ".join(words[position:position + length]))
                if term is not None:
                    terms.append(term)
                    position += length
                    break
            else:
                word = words[position]
                if word not in STOP_WORDS and not word.isdigit():
                    unknown.append(word)
                position += 1
        return terms, settings, unknown

    def embed(self, text: str) -> Style:
        terms, settings, unknown = self.read(text)
        for word in unknown:
            near = self.vocabulary.nearest(word)
            hint = f"nearest known terms: {', '.join(near)}" if near else "no known term is close"
            warnings.warn(f"unknown word {word!r} in prompt {text!r} is ignored; {hint}",
                          UnknownTermWarning, stacklevel=2)
        return Style(self.vector(terms, settings), BUILTIN_SPACE, text.strip())

    @staticmethod
    def vector(terms: list[Term], settings: dict[str, float]) -> np.ndarray:
        """The mean of what the terms set, dimension by dimension; neutral elsewhere."""
        vector = neutral_vector()
        totals: dict[str, list[float]] = {}
        for term in terms:
            for dimension, value in term.values.items():
                totals.setdefault(dimension, []).append(float(value))
        for dimension, values in totals.items():
            vector[index(dimension)] = sum(values) / len(values)
        for dimension, value in settings.items():  # an explicit key wins over any term
            vector[index(dimension)] = value
        return vector
