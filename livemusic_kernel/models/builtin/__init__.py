"""The builtin model (in progress): its style space, text vocabulary and audio analysis.

The descriptor space, the text embedding and the audio embedding are here
and tested; the generator that plays them is the rest of the builtin-model
issue. The backend is registered once it generates.
"""

from .analysis import Analysis, AudioEmbedder, analyse
from .space import BUILTIN_SPACE, DIMENSIONS, Dimension, neutral_vector
from .terms import Term
from .text import TextEmbedder, UnknownTermWarning, Vocabulary, default_vocabulary, normalize

__all__ = [
    "Analysis", "AudioEmbedder", "analyse", "BUILTIN_SPACE", "DIMENSIONS", "Dimension", "neutral_vector", "Term",
    "TextEmbedder", "UnknownTermWarning", "Vocabulary", "default_vocabulary", "normalize",
]
