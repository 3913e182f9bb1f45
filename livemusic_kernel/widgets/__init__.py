"""The notebook as an instrument: Jupyter widgets that steer an engine and play it in the browser.

Each widget works alone, and ``engine.ui()`` lays them all out together:

* :class:`Player` streams the engine's output to the browser and plays it there;
* :class:`PromptMixer` edits the prompt slots and shows the blended style;
* :class:`XYPad` blends four corner prompts with one dot;
* :class:`Transport` starts and stops, sets the tempo, ticks the beat and shows the figures;
* :class:`Scope` shows level meters and a scrolling spectrogram of the output;
* :class:`Timeline` shows what is scheduled, moving with the clock;
* :class:`Injection` sets how a performer's audio steers the model, and shows what it gets
  (the browser's microphone is the Player's mic button).

They need the ``jupyter`` extra: ``pip install 'livemusic-kernel[jupyter]'``.
"""

from ..errors import MissingExtraError

try:
    import anywidget  # noqa: F401
    import ipywidgets  # noqa: F401
except ImportError:
    raise MissingExtraError("the notebook widgets", "jupyter", "anywidget") from None

from .injection import Injection
from .instrument import Instrument
from .mixer import PromptMixer
from .player import Player
from .scope import Scope
from .timeline import Timeline
from .transport import Transport
from .xypad import XYPad

__all__ = ["Injection", "Instrument", "Player", "PromptMixer", "Scope", "Timeline", "Transport", "XYPad"]
