"""The builtin model: a descriptor-conditioned generative music engine on one CPU core.

* ``space``: the style space, 46 descriptors a listener can hear (docs/builtin-style-space.md);
* ``text`` and ``vocab_*``: text prompts through a curated vocabulary;
* ``analysis``: audio prompts by music information retrieval (docs/builtin-analysis.md);
* ``feel``, ``composer``, ``theory``: what a style means musically, and the bar-by-bar
  composition whose candidates the sampling controls choose among;
* ``instruments``, ``generator``, ``_dsp``: the sound, mixing and mastering;
* ``backend``: :class:`BuiltinBackend`, registered as ``"builtin"``, the default backend.

docs/builtin-model.md describes the whole and how ``lmk eval`` measures it.
"""

from .analysis import Analysis, AudioEmbedder, analyse
from .backend import BuiltinBackend
from .space import BUILTIN_SPACE, DIMENSIONS, Dimension, neutral_vector
from .terms import Term
from .text import TextEmbedder, UnknownTermWarning, Vocabulary, default_vocabulary, normalize

__all__ = [
    "Analysis", "AudioEmbedder", "analyse", "BuiltinBackend", "BUILTIN_SPACE", "DIMENSIONS", "Dimension",
    "neutral_vector", "Term", "TextEmbedder", "UnknownTermWarning", "Vocabulary", "default_vocabulary", "normalize",
]
