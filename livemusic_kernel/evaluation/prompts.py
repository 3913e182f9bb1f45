"""The prompt sets ``lmk eval`` plays, and their quick versions for the tests.

The sets are written in the builtin model's vocabulary (every prompt is a
term it knows, checked by the tests), because the builtin model is what the
evaluation was written for; any backend that embeds text can play them, and
:class:`PromptSets` takes other sets for backends with other vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["PromptSets", "BUILTIN_PROMPTS", "KEYS", "TEMPI", "key_prompts"]

# Adherence: single terms, so that "the nearest prompt is the right one" asks whether
# the output sounds like that one word. Chosen to cover the vocabulary: genres from
# every one of its nine families (a spread of tempo, density and instrumentation
# in each), instruments from every one of the 18 timbre families (an instrument whose
# strongest timbre is that family; two or three for the large families), and moods
# and production words that change what a listener hears most (mode, energy,
# brightness, space, grit, density).
_GENRES = (
    # electronic
    "techno", "deep house", "trance", "drum and bass", "dubstep", "ambient", "synthwave", "chiptune",
    # rock and metal
    "rock", "punk", "surf rock", "shoegaze", "heavy metal",
    # jazz and blues
    "ragtime", "swing", "bebop", "cool jazz", "delta blues",
    # hip hop and r&b
    "boom bap", "trap", "lofi hip hop", "soul", "funk", "disco",
    # folk and world
    "bluegrass", "celtic", "flamenco", "reggae", "afrobeat", "samba", "gamelan",
    # classical
    "baroque", "romantic era", "minimalism", "choral",
    # early music
    "gregorian chant", "renaissance polyphony", "madrigal",
    # experimental
    "drone", "noise", "musique concrete",
    # pop
    "synth pop", "city pop", "dream pop",
)
_INSTRUMENTS = (
    "piano",                                  # piano
    "electric piano", "clavinet",             # electric piano
    "hammond organ", "pipe organ",            # organ
    "acoustic guitar", "jazz guitar",         # clean guitar
    "distorted guitar",                       # distorted guitar
    "harp", "banjo", "sitar",                 # plucked
    "violin", "cello", "string section",      # bowed
    "trumpet", "tuba",                        # brass
    "flute", "shakuhachi",                    # woodwind
    "saxophone", "accordion", "bagpipe",      # reed
    "choir", "female vocal",                  # voice
    "marimba", "steel drum", "vibraphone",    # mallet
    "supersaw", "theremin",                   # synth lead
    "analog pad", "mellotron",                # synth pad
    "tb 303", "sub bass",                     # synth bass
    "drum kit", "taiko",                      # acoustic drums
    "tr 808", "tr 909",                       # electronic drums
    "tabla", "conga", "djembe",               # hand percussion
)
_MOODS_AND_PRODUCTION = (
    "happy", "sad", "dark", "euphoric", "calm", "aggressive", "dreamy", "eerie",
    "lofi", "distorted", "reverb drenched", "sparse", "busy", "punchy",
)

# Transitions: pairs far apart, so that moving from one to the other is audible:
# across genre families, tempi and line-ups, two instrument pairs and two mood pairs.
_PAIRS = (
    ("techno", "baroque"), ("ambient", "drum and bass"), ("deep house", "bluegrass"),
    ("heavy metal", "cool jazz"), ("trap", "gregorian chant"), ("reggae", "synthwave"),
    ("flamenco", "dubstep"), ("bebop", "trance"), ("punk", "minimalism"), ("lofi hip hop", "samba"),
    ("gamelan", "disco"), ("choral", "acid house"), ("drone", "funk"), ("chiptune", "delta blues"),
    ("shoegaze", "afrobeat"), ("ragtime", "noise"), ("soul", "psytrance"), ("celtic", "boom bap"),
    ("dream pop", "thrash metal"), ("madrigal", "jungle"), ("city pop", "doom metal"),
    ("piano", "tb 303"), ("string section", "tr 808"), ("flute", "distorted guitar"),
    ("calm", "aggressive"), ("happy", "sad"),
)

# Tempo: genres with a steady drum pulse (a beat tracker has something to follow),
# from straight four-on-the-floor to broken beats and backbeats.
_RHYTHMIC = ("techno", "house", "hip hop", "drum and bass", "funk", "rock")

#: The tempi of the tempo test, in BPM: the issue's five, from slow to drum and bass.
TEMPI = (70.0, 90.0, 120.0, 150.0, 174.0)

# Key: genres with harmony and a bass line (chords say the key), from dance music to
# baroque; each of the 24 keys is played by one of them in turn.
_TONAL = ("house", "jazz", "baroque", "synth pop", "folk", "soul")

#: The 24 keys, as the builtin vocabulary reads them ("C# minor").
KEYS = tuple(f"{tonic} {mode}" for mode in ("major", "minor")
             for tonic in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"))

# Sound: the loudest and quietest, densest and sparsest, brightest and darkest
# corners of the vocabulary, where clipping or too low a level would show.
_SOUND = ("gabber", "noise", "heavy metal", "dubstep", "techno", "ambient", "piano", "choir",
          "bebop", "sub bass", "lofi hip hop", "gregorian chant")
_SOUND_MORPHS = (("techno", "ambient"),)

# Variety: one prompt from each of six families.
_VARIETY = ("techno", "jazz", "ambient", "folk", "drum and bass", "baroque")


def key_prompts(genres: tuple[str, ...], keys: tuple[str, ...] = KEYS) -> tuple[tuple[str, str], ...]:
    """``(prompt, key)`` for every key, the genres taking turns: ``("house in C major", "C major")``."""
    return tuple((f"{genres[i % len(genres)]} in {key}", key) for i, key in enumerate(keys))


@dataclass(frozen=True)
class PromptSets:
    """What each figure plays, and for how long. Replace any field for another
    backend's vocabulary: ``replace(BUILTIN_PROMPTS, adherence=(...))``."""

    adherence: tuple[str, ...] = _GENRES + _INSTRUMENTS + _MOODS_AND_PRODUCTION
    adherence_seconds: float = 10.0
    transitions: tuple[tuple[str, str], ...] = _PAIRS
    #: Seconds per step; the papers' protocol is 6 steps of 10 s.
    transition_step_seconds: float = 10.0
    transition_steps: int = 6
    tempo: tuple[str, ...] = _RHYTHMIC
    tempi: tuple[float, ...] = TEMPI
    tempo_seconds: float = 20.0
    #: ``(prompt, key)`` pairs; the key is "C major" .. "B minor".
    key: tuple[tuple[str, str], ...] = key_prompts(_TONAL)
    key_seconds: float = 20.0
    #: Prompts, and ``(a, b)`` pairs played as a stepwise morph (style changes are joins too).
    sound: tuple[str | tuple[str, str], ...] = _SOUND + _SOUND_MORPHS
    sound_seconds: float = 10.0
    variety: tuple[str, ...] = _VARIETY
    #: A whole number of bars at the evaluation tempo, so that its halves start on a downbeat.
    variety_seconds: float = 16.0
    speed_seconds: float = 30.0
    speed_repeats: int = 5

    def quick(self) -> PromptSets:
        """A few of each, rendered briefly: the whole evaluation in seconds (for tests and a first look)."""
        return replace(
            self, adherence=_spread(self.adherence, 8), adherence_seconds=2.0,
            transitions=self.transitions[:2], transition_step_seconds=1.0,
            tempo=self.tempo[:1], tempi=(self.tempi[1], self.tempi[-2]), tempo_seconds=8.0,
            key=_spread(self.key, 4), key_seconds=6.0,
            sound=self.sound[:2] + tuple(case for case in self.sound if isinstance(case, tuple))[:1],
            sound_seconds=3.0, variety=self.variety[:2], variety_seconds=8.0,
            speed_seconds=3.0, speed_repeats=2)


def _spread(items: tuple, count: int) -> tuple:
    """``count`` items taken evenly across ``items`` (so a quick set still spans the families)."""
    if len(items) <= count:
        return items
    return tuple(items[round(i * (len(items) - 1) / (count - 1))] for i in range(count))


#: The builtin vocabulary's sets (the default for every backend).
BUILTIN_PROMPTS = PromptSets()
