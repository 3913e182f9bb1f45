"""The builtin model's composer: what every layer plays, bar by bar.

Generation here is a small language model over musical material rather than
audio tokens, and the sampling controls keep the meaning they have in a
neural model:

* At the start of every bar (and of every phrase, for chords and the lead's
  motif), each layer gathers a pool of **candidates**: the material it
  played last (repeating is what music mostly does), mutations of it (how
  many and how wild grows with **temperature**), and fresh material from the
  archetypes of that layer (a four-on-the-floor beat, a walking bass, off-beat
  stabs, an arpeggio ...) shaped by the style.
* Each candidate gets two scores: how well it fits the style (its archetype's
  typical descriptors against the style's, and its measured density and
  syncopation against the style's) and how well it continues the musical
  context (its distance from what was just played). Like classifier-free
  guidance, the logit is ``context + guidance * style``: a high **guidance**
  follows the prompt at once, a low one lets the music keep its own course.
* The **top_k** best candidates are kept and one is sampled with
  ``softmax(logit / temperature)`` (temperature 0 is greedy).

All randomness comes from ``numpy.random.default_rng((seed, bar, purpose))``,
so a seed and a control log give the same music on every run, and different
seeds give different music.

Phrases last four bars: a chord progression and a melodic motif are chosen
per phrase, the motif returns varied in the following bars (call, answer,
variation, cadence), drums fill into the next phrase and a crash marks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .context import Context
from .feel import Feel
from .instruments import DRUM_PIECES
from .theory import Key, progression_weights

__all__ = ["STEPS_PER_BEAT", "PHRASE_BARS", "SECTION_PHRASES", "MOVED", "Event", "BarPlan", "Phrase", "Memory",
           "Sampling", "compose_bar", "choose", "choose_key", "DRUM_ARCHETYPES", "BASS_ARCHETYPES",
           "COMP_ARCHETYPES", "drum_pattern"]

STEPS_PER_BEAT = 4
PHRASE_BARS = 4
SECTION_PHRASES = 4
#: How far (RMS over the feel's descriptors) the style must move for the music to change course
#: in the middle of its phrase or section.
MOVED = 0.12
_V = len(DRUM_PIECES)
_PIECE = {name: i for i, name in enumerate(DRUM_PIECES)}
_LEVEL = {"X": 1.0, "x": 0.8, "o": 0.55, "g": 0.3, ".": 0.0}


@dataclass(frozen=True)
class Sampling:
    """The sampling controls the composer reads."""

    temperature: float = 1.1
    top_k: int = 40
    guidance: float = 4.0
    seed: int = 0


@dataclass(frozen=True)
class Event:
    """One thing a layer does in a bar. ``step`` counts sixteenths from the bar's start.

    ``what`` depends on the layer: a drum piece; for the bass a chord-tone
    name (root, fifth, octave, third, seventh, approach); for the harmony
    ``chord`` or the index of a chord tone (an arpeggio); for the lead a
    scale degree; for the texture ``pad`` or a chord-tone index.
    """

    step: int
    layer: str
    what: str | int
    length: float = 1.0   # in steps
    velocity: float = 1.0


@dataclass(frozen=True)
class Phrase:
    start: int                                   # the bar it starts on
    #: Per bar, the chord changes: ((step, scale degree), ...).
    chords: tuple[tuple[tuple[int, int], ...], ...]
    #: The lead's motif: ((step, length, scale degree), ...), one bar long.
    motif: tuple[tuple[int, float, int], ...]


@dataclass(frozen=True)
class BarPlan:
    index: int
    steps: int
    chords: tuple[tuple[int, int], ...]
    events: tuple[Event, ...]
    fill: bool = False

    def chord_at(self, step: int) -> int:
        degree = self.chords[0][1]
        for start, d in self.chords:
            if start <= step:
                degree = d
        return degree


@dataclass(frozen=True)
class Memory:
    """What the composer remembers between bars (immutable; each bar makes a new one)."""

    key: Key | None = None
    phrase: Phrase | None = None
    drums: tuple[np.ndarray, str] | None = None     # (pattern (pieces x steps), archetype)
    bass: tuple[str, str] | None = None              # (pattern, archetype)
    comp: tuple[str, str] | None = None
    #: The feel the current material was chosen for (a big enough change re-plans mid-bar).
    planned_for: np.ndarray | None = field(default=None, compare=False)
    #: A phrase heard from outside and not yet answered: (onset steps, pitch classes).
    call: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    #: The chords a player from outside played, by bar: ((bar, root pitch class), ...), the last eight.
    heard: tuple[tuple[int, int], ...] = ()


# -- sampling -------------------------------------------------------------------------------

def choose(rng: np.random.Generator, logits: np.ndarray, sampling: Sampling) -> int:
    """Sample an index: keep the top_k logits, then softmax(logit / temperature)."""
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits, kind="stable")[:max(1, sampling.top_k)]
    if sampling.temperature <= 1e-3 or len(order) == 1:
        return int(order[0])
    z = logits[order] / sampling.temperature
    p = np.exp(z - z.max())
    return int(order[rng.choice(len(order), p=p / p.sum())])


def _fit(signature: dict[str, float], feel: Feel, bpm: float) -> float:
    """How typical a signature is of the feel at the clock's tempo: a log-prior, 0 at
    best, negative elsewhere. A signature's tempo is compared with both the style's
    preferred tempo and the clock's, because a player adapts a groove to the tempo
    it is asked to play at (a breakbeat at 90 BPM is a hip hop beat)."""
    score = 0.0
    for name, value in signature.items():
        if name == "bpm":
            score -= 0.4 * (math.log2(feel.preferred_bpm / value) / 0.4) ** 2
            score -= 0.1 * (math.log2(bpm / value) / 0.4) ** 2
        elif name in ("electronic", "acoustic", "hand"):
            kit = feel.kit_weights[("electronic", "acoustic", "hand").index(name)]
            score += 1.5 * value * kit
        elif name == "common":
            score += value  # how often the groove is met at all: the model's unconditional prior
        elif name == "family":
            continue
        else:
            score -= 0.5 * ((getattr(feel, name) - value) / 0.22) ** 2
    return score


# -- drums ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Archetype:
    name: str
    signature: dict[str, float]
    parts: dict[str, str]


DRUM_ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("four on the floor", {"energy": .75, "syncopation": .4, "swing": .05, "bpm": 126, "electronic": 1,
                                     "common": .7},
              {"kick": "X...X...X...X...", "clap": "....x.......x...", "hat": "..o...o...o...o."}),
    Archetype("disco", {"energy": .7, "syncopation": .3, "swing": .1, "bpm": 118, "acoustic": .5, "electronic": .5},
              {"kick": "X...X...X...X...", "snare": "....x.......x...", "open_hat": "..o...o...o...o.",
               "hat": "x.g.x.g.x.g.x.g."}),
    Archetype("backbeat", {"energy": .65, "syncopation": .3, "swing": .1, "bpm": 115, "acoustic": 1, "common": .7},
              {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."}),
    Archetype("skank beat", {"energy": .9, "syncopation": .35, "swing": 0.0, "bpm": 180, "grit": .5, "acoustic": 1},
              {"kick": "X...X...X...X...", "snare": "..x...x...x...x.", "hat": "x.x.x.x.x.x.x.x."}),
    Archetype("rock drive", {"energy": .92, "syncopation": .2, "swing": .05, "bpm": 150, "grit": .7, "acoustic": 1},
              {"kick": "X.x.X.x.X.x.X.x.", "snare": "....X.......X...", "ride": "x.x.x.x.x.x.x.x."}),
    Archetype("boom bap", {"energy": .55, "syncopation": .55, "swing": .5, "bpm": 90, "electronic": .6},
              {"kick": "X......x..x.....", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."}),
    # The broken beats leave beat three without a kick, so their hats mark every beat (accented on
    # it, an open hat in the breakbeat): without that pulse a listener, and a beat tracker, hears
    # the snare's two-beat swing as the beat, half the tempo.
    Archetype("half time", {"energy": .7, "syncopation": .6, "swing": .1, "bpm": 140, "electronic": 1, "common": -.5},
              {"kick": "X.........x.....", "snare": "........X.......", "hat": "X.o.X.o.X.o.X.o."}),
    Archetype("breakbeat", {"energy": .85, "syncopation": .75, "swing": .05, "bpm": 170, "electronic": .8},
              {"kick": "X.........X.....", "snare": "....X..g.g..X..g", "hat": "X.o.X.o.X.o.X.o.",
               "open_hat": "x...x...x...x..."}),
    Archetype("funk", {"energy": .75, "syncopation": .7, "swing": .2, "bpm": 105, "acoustic": .8},
              {"kick": "X..x....X.x.....", "snare": "....X..g.g..X..g", "hat": "xgxgxgxgxgxgxgxg"}),
    Archetype("one drop", {"energy": .4, "syncopation": .6, "swing": .4, "bpm": 76, "acoustic": .7},
              {"kick": "........X.......", "rim": "........x.......", "hat": "x.x.x.x.x.x.x.x."}),
    Archetype("jazz swing", {"energy": .45, "syncopation": .5, "swing": .85, "bpm": 140, "acoustic": 1},
              {"ride": "x...x.ox..x...ox", "hat": "....x.......x...", "kick": "g...g...g...g..."}),
    Archetype("shuffle", {"energy": .55, "syncopation": .3, "swing": .85, "bpm": 100, "acoustic": 1},
              {"kick": "X.......X.......", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."}),
    Archetype("bossa", {"energy": .35, "syncopation": .55, "swing": .1, "bpm": 128, "acoustic": .6, "hand": .4},
              {"kick": "x..x....x..x....", "rim": "x..x..x...x..x..", "shaker": "x.o.x.o.x.o.x.o."}),
    Archetype("dembow", {"energy": .7, "syncopation": .6, "swing": .05, "bpm": 95, "electronic": 1, "common": -.5},
              {"kick": "X...X...X...X...", "snare": "...x..x....x..x.", "hat": "x.x.x.x.x.x.x.x."}),
    Archetype("hand groove", {"energy": .6, "syncopation": .65, "swing": .15, "bpm": 110, "hand": 1},
              {"kick": "X.....x...X.....", "perc_low": "x..x..x...x..x..", "perc_high": "..x..x.xx...x.x.",
               "shaker": "xoxoxoxoxoxoxoxo"}),
    Archetype("tabla", {"energy": .5, "syncopation": .6, "density": .75, "swing": .1, "bpm": 100, "hand": 1},
              {"perc_low": "x.....x.x.....x.", "perc_high": "x.xgx.x.x.xgx.xg"}),
    Archetype("pulse", {"energy": .2, "syncopation": .2, "density": .2, "swing": .1, "bpm": 80},
              {"kick": "x.......x.......", "shaker": "....o.......o..."}),
)


def _parse(parts: dict[str, str]) -> np.ndarray:
    pattern = np.zeros((_V, 16))
    for piece, text in parts.items():
        pattern[_PIECE[piece]] = [_LEVEL[c] for c in text]
    return pattern


_ARCHETYPE_PATTERNS = {a.name: _parse(a.parts) for a in DRUM_ARCHETYPES}
_ARCHETYPES = {a.name: a for a in DRUM_ARCHETYPES}
_TIME_KEEPERS = [_PIECE[p] for p in ("hat", "ride", "shaker")]


def drum_pattern(archetype: str) -> np.ndarray:
    """An archetype's one-bar 4/4 pattern as written: velocity (0..1) per drum piece (rows, in
    ``DRUM_PIECES`` order) and sixteenth (columns). A ValueError lists the archetypes."""
    if archetype not in _ARCHETYPE_PATTERNS:
        raise ValueError(f"unknown drum archetype {archetype!r}; archetypes: {', '.join(_ARCHETYPE_PATTERNS)}")
    return _ARCHETYPE_PATTERNS[archetype].copy()


def _fit_meter(pattern: np.ndarray, beats: int) -> np.ndarray:
    """A one-bar 4/4 pattern laid over ``beats`` beats: the downbeat's beat
    first, then the 4/4 beats in turn (3/4 takes beats one, two and four)."""
    if beats == 4:
        return pattern.copy()
    sources = [0, 1, 3] if beats == 3 else [0] + [1 + (i % 3) for i in range(beats - 1)]
    return np.concatenate([pattern[..., 4 * s:4 * s + 4] for s in sources], axis=-1)


#: The fastest a hi-hat is played, in hits per second: sixteenths up to 135 BPM, eighths above.
_MAX_HITS_PER_SECOND = 9.0


def _shape_drums(base: np.ndarray, feel: Feel, rng: np.random.Generator, bpm: float) -> np.ndarray:
    """An archetype's pattern made to the feel and the tempo: time-keeping thinned
    or doubled for density (never faster than a drummer plays a hi-hat), ghost
    notes for busy and syncopated feels."""
    p = base.copy()
    steps = p.shape[1]
    offbeat8 = (np.arange(steps) % 4) == 2
    sixteenth = (np.arange(steps) % 2) == 1
    sixteenths_playable = bpm * 4 / 60 <= _MAX_HITS_PER_SECOND
    for row in _TIME_KEEPERS:
        if not p[row].any():
            continue
        if feel.density > 0.68 and sixteenths_playable:
            p[row, sixteenth & (p[row] == 0)] = 0.3
        elif feel.density < 0.3:
            p[row, offbeat8 | sixteenth] = 0.0
        if not sixteenths_playable:
            p[row, sixteenth] = 0.0
    p = _even_out(p, bpm, feel.preferred_bpm)
    if feel.syncopation > 0.5:
        # Syncopated feels move the weight off the beat, in the parts that push: the kick and the
        # hand drums play softer on the beats after the downbeat and stronger between them. The
        # backbeat and the cymbals keep the pulse, or a listener (and a beat tracker) hears the
        # off-beats as the beat and the groove at another tempo.
        shift = min(1.0, (feel.syncopation - 0.5) / 0.4)
        pushing = [_PIECE[name] for name in ("kick", "perc_low", "perc_high", "tom_low", "tom_high")]
        beats = np.arange(steps) % 4 == 0
        beats[0] = False
        rows = np.array(pushing)[:, None]
        p[rows, beats] *= 1.0 - 0.5 * shift
        off = ~(np.arange(steps) % 4 == 0)
        p[rows, off] = np.minimum(p[rows, off] * (1.0 + 0.6 * shift), 1.0)
    if feel.density < 0.25:  # sparse: the drums mark the downbeats and little else
        strong = np.arange(steps) % (8 if feel.density < 0.12 else 4) == 0
        p[:, ~strong] = 0.0
    if feel.density > 0.55 and feel.syncopation > 0.5 and sixteenths_playable:
        ghosts = sixteenth & (rng.random(steps) < 0.25 * feel.syncopation) & (p[_PIECE["snare"]] == 0)
        if p[_PIECE["snare"]].any():
            p[_PIECE["snare"], ghosts] = 0.3
    return p


#: From these tempi drummers even out the pulse of a groove brought from a slower home: a
#: backbeat becomes a skank beat, and four on the floor drops its clap on two and four (the
#: hardcore pulse). At these speeds a listener follows the kick on every beat; an accent every
#: other beat is heard as the beat at half speed. A style at home this fast (drum and bass) keeps
#: its own groove.
_SKANK_FROM_BPM = 140.0
_EVEN_FLOOR_FROM_BPM = 160.0
_AWAY_FROM_HOME = 1.25


def _even_out(p: np.ndarray, bpm: float, home_bpm: float) -> np.ndarray:
    if bpm < _AWAY_FROM_HOME * home_bpm:
        return p
    steps = p.shape[1]
    beats = np.arange(steps) % 4 == 0
    offbeats = np.arange(steps) % 4 == 2
    kick, snare, clap = p[_PIECE["kick"]], p[_PIECE["snare"]], p[_PIECE["clap"]]
    backbeat = (snare[beats].any() or clap[beats].any()) and not kick[beats].all()
    if bpm >= _SKANK_FROM_BPM and backbeat:
        p = p.copy()
        p[_PIECE["kick"]] = np.where(beats, 1.0, 0.0)
        p[_PIECE["snare"]] = np.where(offbeats, 0.55, 0.0)
        p[_PIECE["clap"]] = 0.0
    elif bpm >= _EVEN_FLOOR_FROM_BPM and kick[beats].all():
        p = p.copy()
        p[_PIECE["snare"], beats] = 0.0
        p[_PIECE["clap"], beats] = 0.0
    return p


def _mutate_drums(pattern: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    p = pattern.copy()
    used = [r for r in range(_V) if p[r].any()] or [_PIECE["kick"]]
    steps = p.shape[1]
    for _ in range(count):
        row = used[int(rng.integers(len(used)))]
        step = int(rng.integers(steps))
        if p[row, step] >= 0.95:
            continue  # accents (X) anchor the groove: four-on-the-floor kicks, backbeats
        if p[row, step] > 0:
            p[row, step] = 0.0 if rng.random() < 0.6 else float(rng.choice([0.3, 0.55, 0.8]))
        else:
            p[row, step] = 0.3 if step % 2 else 0.55
    return p


def _drum_features(p: np.ndarray, beats: int) -> tuple[float, float]:
    """(density, syncopation) of a pattern on the style's 0..1 scales."""
    hits = float((p > 0).sum())
    per_beat = max(hits / beats, 0.25)
    density = float(np.clip(math.log2(per_beat / 0.5) / 4.0, 0.0, 1.0))
    weight = p[[i for i in range(_V) if i not in _TIME_KEEPERS]]
    total = weight.sum()
    off = weight[:, (np.arange(p.shape[1]) % 4) != 0].sum()
    return density, float(off / total) if total > 0 else 0.0


def _plan_drums(memory: Memory, feel: Feel, sampling: Sampling, beats: int, bpm: float,
                rng: np.random.Generator, boundary: str, lock: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    candidates: list[tuple[np.ndarray, str, bool]] = []
    previous = memory.drums
    if previous is not None and previous[0].shape[1] == 4 * beats:
        candidates.append((previous[0], previous[1], True))
        for _ in range(6):
            count = 1 + int(rng.poisson(max(sampling.temperature, 0.0) * 1.5))
            candidates.append((_mutate_drums(previous[0], rng, count), previous[1], False))
    for archetype in DRUM_ARCHETYPES:
        shaped = _shape_drums(_fit_meter(_ARCHETYPE_PATTERNS[archetype.name], beats), feel, rng, bpm)
        candidates.append((shaped, archetype.name, False))
    if lock is not None:  # the groove playing, its kick moved onto the outside player's strong steps
        base, name = candidates[0][:2] if previous is not None else candidates[-len(DRUM_ARCHETYPES)][:2]
        locked = base.copy()
        locked[_PIECE["kick"]] = np.where(lock > 0.5 * lock.max(), 0.9, 0.0)
        candidates.append((locked, name, False))
    logits = np.empty(len(candidates))
    for i, (pattern, name, kept) in enumerate(candidates):
        density, syncopation = _drum_features(pattern, beats)
        style = _fit(_ARCHETYPES[name].signature, feel, bpm)
        # A style's syncopation lives mostly in its bass and chords (house drums sit on the
        # beat under a syncopated bass), so the drums' own syncopation counts for little.
        style -= 0.5 * ((density - feel.density) / 0.15) ** 2 + 0.5 * ((syncopation - feel.syncopation) / 0.7) ** 2
        accents = pattern[[r for r in range(_V) if r not in _TIME_KEEPERS]].max(axis=0)
        logits[i] = _context_score(pattern, previous[0] if previous is not None else None, kept, boundary) \
            + _locked(accents, lock) + sampling.guidance * style / 2.0
    pattern, name, _ = candidates[choose(rng, logits, sampling)]
    return pattern, name


def _context_score(candidate: np.ndarray, previous: np.ndarray | None, kept: bool, boundary: str) -> float:
    """Continuing the context: repeating what was played scores best, the more
    different a candidate is the worse; a new phrase frees the music a little."""
    if previous is None or previous.shape != candidate.shape:
        return 0.0
    distance = float(np.abs(candidate - previous).sum()) / max(1.0, float(np.abs(previous).sum()))
    return _continuity(distance, kept, boundary)


#: How much changing the material costs, by where the bar falls: a new section may move on, a
#: new phrase varies a little, inside a phrase the groove holds.
_CHANGE_COST = {"section": 1.5, "phrase": 4.5, "bar": 6.0}


#: How strongly the rhythm locks to what an outside player plays (the context's side of the logit).
LOCK = 10.0


def _rhythm_lock(context: Context, steps: int) -> np.ndarray | None:
    """The outside input's onsets in the last bar, weighted by how much of the context it is:
    what candidates are scored against (None when nothing is played from outside)."""
    if context.onsets is None or len(context.onsets) != steps or context.outside < 0.05:
        return None
    return np.array(context.onsets) * LOCK * min(1.0, 4.0 * context.outside)


def _locked(onsets: np.ndarray, lock: np.ndarray | None) -> float:
    """How well a candidate's onsets (per sixteenth) fall where the outside player's did: the
    cosine of the two, times the lock's weight."""
    if lock is None or len(onsets) != len(lock):
        return 0.0
    norms = float(np.linalg.norm(onsets) * np.linalg.norm(lock))
    return float(onsets @ lock) / norms * float(lock.max()) if norms > 0 else 0.0


def _continuity(distance: float, kept: bool, boundary: str) -> float:
    """The context's score of a candidate ``distance`` (0..1) from what was played, at a
    ``boundary`` (``section``, ``phrase`` or ``bar``)."""
    return -_CHANGE_COST[boundary] * distance + (0.5 if boundary == "section" else 1.0) * kept


def _moved(feel: Feel, planned_for: np.ndarray) -> bool:
    return float(np.sqrt(np.mean((feel.vector() - planned_for) ** 2))) >= MOVED


def _fill(pattern: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The last beat of a phrase: snare and toms in sixteenths, rising."""
    p = pattern.copy()
    steps = p.shape[1]
    start = steps - 4 if rng.random() < 0.6 else steps - 8
    for step in range(start, steps):
        p[:, step] = np.where(np.isin(np.arange(_V), _TIME_KEEPERS), p[:, step], 0.0)
        piece = ("snare", "tom_high", "tom_low")[int(rng.integers(3))] if step % 2 == 0 else "snare"
        p[_PIECE[piece], step] = 0.45 + 0.5 * (step - start) / (steps - start)
    return p


# -- bass and comping -------------------------------------------------------------------------

BASS_ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("whole", {"density": .15, "energy": .3, "syncopation": .2}, {"bass": "R---------------"}),
    Archetype("root fifth", {"density": .3, "energy": .4, "syncopation": .15, "swing": .1},
              {"bass": "R-------F-------"}),
    Archetype("quarters", {"density": .4, "energy": .5, "syncopation": .2}, {"bass": "R---R---F---R---"}),
    Archetype("eighths", {"density": .6, "energy": .85, "syncopation": .2}, {"bass": "R-R-R-R-R-R-R-O-"}),
    Archetype("offbeat", {"density": .5, "energy": .75, "syncopation": .55, "electronic": 1},
              {"bass": "..R-..R-..R-..R-"}),
    Archetype("rolling", {"density": .9, "energy": .85, "syncopation": .5, "electronic": 1},
              {"bass": ".RRR.RRR.RRR.RRR"}),
    Archetype("walking", {"density": .45, "swing": .7, "complexity": .7, "energy": .45},
              {"bass": "R---T---F---A---"}),
    Archetype("funk", {"density": .75, "syncopation": .8, "energy": .75}, {"bass": "R..RO...R.RO..OF"}),
    Archetype("reggae", {"density": .4, "syncopation": .75, "energy": .45, "swing": .3, "bpm": 76},
              {"bass": "..R-R-..F-..R-R."}),
    Archetype("octaves", {"density": .65, "energy": .7, "syncopation": .3}, {"bass": "R-O-R-O-R-O-R-O-"}),
    Archetype("sub", {"density": .2, "energy": .7, "syncopation": .45, "bpm": 140, "electronic": 1},
              {"bass": "R-----------R---"}),
    Archetype("tumbao", {"density": .35, "syncopation": .85, "energy": .55, "hand": .8},
              {"bass": "......R-----F---"}),
    Archetype("acid", {"density": .85, "brightness": .75, "grit": .5, "energy": .8, "electronic": 1},
              {"bass": "RRO.RR.ORR.RO.RR"}),
)
_BASS_TONES = {"R": "root", "F": "fifth", "O": "octave", "T": "third", "S": "seventh", "A": "approach"}

COMP_ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("held", {"density": .15, "energy": .3}, {"comp": "C---------------"}),
    Archetype("halves", {"density": .35, "energy": .45}, {"comp": "C-------C-------"}),
    Archetype("quarters", {"density": .5, "energy": .65, "syncopation": .2}, {"comp": "C---C---C---C---"}),
    Archetype("off-beat stabs", {"density": .45, "syncopation": .8, "energy": .55}, {"comp": "..C...C...C...C."}),
    Archetype("syncopated stabs", {"density": .45, "syncopation": .7, "energy": .7, "electronic": 1},
              {"comp": "C..C..C...C..C.."}),
    Archetype("charleston", {"density": .3, "swing": .7, "complexity": .7, "syncopation": .5},
              {"comp": "C-----C-........"}),
    Archetype("arpeggio", {"density": .6, "energy": .4, "complexity": .45}, {"comp": "0-1-2-3-0-1-2-3-"}),
    Archetype("fast arpeggio", {"density": .85, "energy": .7, "electronic": .6}, {"comp": "0123012301230123"}),
    Archetype("alberti", {"density": .55, "energy": .4, "complexity": .5, "swing": 0.0},
              {"comp": "0-2-1-2-0-2-1-2-"}),
    Archetype("strum", {"density": .6, "energy": .6, "syncopation": .4}, {"comp": "C---C-c---c-C-c-"}),
    Archetype("chug", {"density": .6, "energy": .9, "grit": .8}, {"comp": "C-C-C-C-C-C-C-C-"}),
    Archetype("montuno", {"density": .7, "syncopation": .85, "energy": .65, "hand": .5},
              {"comp": "C.C..C.C.C..C.C."}),
)
#: Comping patterns that suit a family's hands (a bonus to their style score).
_COMP_FAMILY = {"strum": ("guitar_clean", "plucked"), "chug": ("guitar_distorted",),
                "held": ("synth_pad", "bowed", "organ", "voice", "reed", "brass"),
                "alberti": ("piano", "plucked"), "arpeggio": ("piano", "plucked", "mallet", "guitar_clean"),
                "fast arpeggio": ("synth_lead", "synth_pad", "mallet", "plucked"),
                "off-beat stabs": ("organ", "electric_piano", "guitar_clean", "piano"),
                "charleston": ("piano", "electric_piano", "guitar_clean"),
                "montuno": ("piano",), "quarters": ("piano", "electric_piano", "guitar_clean")}


def _fit_text(text: str, beats: int) -> str:
    if beats == 4:
        return text
    sources = [0, 1, 3] if beats == 3 else [0] + [1 + (i % 3) for i in range(beats - 1)]
    return "".join(text[4 * s:4 * s + 4] for s in sources)


def _text_features(text: str, beats: int) -> tuple[float, float]:
    onsets = [i for i, c in enumerate(text) if c not in "-."]
    per_beat = max(len(onsets) / beats, 0.25)
    density = float(np.clip(math.log2(per_beat / 0.25) / 4.0, 0.0, 1.0))
    off = sum(1 for i in onsets if i % 4 != 0)
    return density, off / len(onsets) if onsets else 0.0


def _sixteenths(feel: Feel) -> bool:
    """Whether the feel is busy enough for notes on the sixteenths between the eighths."""
    return feel.density > 0.6


def _mutate_text(text: str, rng: np.random.Generator, count: int, alphabet: str, sixteenths: bool) -> str:
    chars = list(text)
    for _ in range(count):
        i = int(rng.integers(1, len(chars)))
        if not sixteenths:
            i -= i % 2
        chars[i] = "." if chars[i] not in ".-" else alphabet[int(rng.integers(len(alphabet)))]
    return "".join(chars)


def _plan_line(previous: tuple[str, str] | None, archetypes: tuple[Archetype, ...], part: str, alphabet: str,
               feel: Feel, family: str, sampling: Sampling, beats: int, bpm: float, rng: np.random.Generator,
               boundary: str, lock: np.ndarray | None = None) -> tuple[str, str]:
    """The bass line or the comping pattern for a bar, chosen like the drums."""
    candidates: list[tuple[str, str, bool]] = []
    if previous is not None and len(previous[0]) == 4 * beats:
        candidates.append((previous[0], previous[1], True))
        for _ in range(4):
            count = 1 + int(rng.poisson(max(sampling.temperature, 0.0)))
            candidates.append((_mutate_text(previous[0], rng, count, alphabet, _sixteenths(feel)), previous[1],
                               False))
    for archetype in archetypes:
        candidates.append((_fit_text(archetype.parts[part], beats), archetype.name, False))
    if lock is not None:  # the outside player's rhythm, taken up
        strong = lock > 0.5 * lock.max()
        notes = alphabet[0] if part == "bass" else "C"
        text = "".join(notes if hit else "." for hit in strong)
        candidates.append((text, candidates[0][1], False))
    by_name = {a.name: a for a in archetypes}
    logits = np.empty(len(candidates))
    for i, (text, name, kept) in enumerate(candidates):
        density, syncopation = _text_features(text, beats)
        style = _fit(by_name[name].signature, feel, bpm)
        style -= 0.5 * ((density - feel.density) / 0.25) ** 2 + 0.5 * ((syncopation - feel.syncopation) / 0.25) ** 2
        if family in _COMP_FAMILY.get(name, ()):
            style += 1.0
        context = 0.0
        if previous is not None and len(previous[0]) == len(text):
            distance = sum(a != b for a, b in zip(text, previous[0], strict=True)) / len(text)
            context = _continuity(2 * distance, kept, boundary)
        onsets = np.array([c not in "-." for c in text], dtype=float)
        logits[i] = context + _locked(onsets, lock) + sampling.guidance * style / 2.0
    text, name, _ = candidates[choose(rng, logits, sampling)]
    return text, name


def _line_events(text: str, layer: str) -> list[Event]:
    events = []
    for i, c in enumerate(text):
        if c in "-.":
            continue
        length = 1
        while i + length < len(text) and text[i + length] == "-":
            length += 1
        if layer == "bass":
            events.append(Event(i, "bass", _BASS_TONES.get(c, "root"), length * 0.9, 0.9 if i % 4 == 0 else 0.75))
        elif c in "Cc":
            events.append(Event(i, "harmony", "chord", length * 0.95, 0.85 if c == "C" else 0.55))
        else:
            events.append(Event(i, "harmony", int(c), length * 0.95, 0.7 if i % 4 == 0 else 0.6))
    return events


# -- chords and melody ------------------------------------------------------------------------

def _chord_slots(feel: Feel, beats: int) -> list[float]:
    """Where chords change within a bar (as fractions of it), by harmonic rhythm."""
    if feel.complexity > 0.65 and feel.density > 0.45 and beats % 2 == 0:
        return [0.0, 0.5]
    return [0.0]


def _plan_chords(memory: Memory, feel: Feel, key: Key, sampling: Sampling, beats: int,
                 rng: np.random.Generator) -> tuple[tuple[tuple[int, int], ...], ...]:
    steps = 4 * beats
    slots = _chord_slots(feel, beats)
    slow = feel.complexity < 0.3 or feel.density < 0.25  # a chord lasts two bars
    count = PHRASE_BARS * len(slots) // (2 if slow and len(slots) == 1 else 1)
    if feel.complexity < 0.12:  # a drone: the tonic throughout
        return tuple(((0, 0),) for _ in range(PHRASE_BARS))
    moves = progression_weights(key.minor, round(feel.complexity, 2))
    last = memory.phrase.chords[-1][-1][1] if memory.phrase is not None else 0
    previous = [d for bar in memory.phrase.chords for _, d in bar] if memory.phrase is not None else None
    candidates = []
    for _ in range(24):
        degree, run = (0 if memory.phrase is None else last), []
        for i in range(count):
            if i == 0 and memory.phrase is None:
                degree = 0
            else:
                degree = int(rng.choice(7, p=moves[degree]))
            run.append(degree)
        candidates.append(run)
    if memory.phrase is not None and previous is not None:
        candidates.append(_stretch(previous, count))
    logits = np.empty(len(candidates))
    for i, run in enumerate(candidates):
        style = 0.0
        style += 1.0 if run[0] == 0 else 0.0
        style += 1.5 if run[-1] in (4, 3, 6) else 0.0   # ends on a chord that leads home
        style += 2.0 * min(run.count(0) / len(run), 0.5)  # home is where a phrase spends its time
        variety = len(set(run)) / len(run)
        style -= 0.5 * ((variety - (0.3 + 0.5 * feel.complexity)) / 0.25) ** 2
        context = 0.0
        if previous is not None:
            same = sum(a == b for a, b in zip(_stretch(previous, count), run, strict=True)) / count
            context = 2.0 * same
        logits[i] = context + sampling.guidance * style / 2.0
    run = candidates[choose(rng, logits, sampling)]
    per_bar = []
    for bar in range(PHRASE_BARS):
        if slow and len(slots) == 1:
            per_bar.append(((0, run[bar // 2]),))
        else:
            per_bar.append(tuple((int(round(slot * steps)), run[bar * len(slots) + j])
                                 for j, slot in enumerate(slots)))
    return tuple(per_bar)


def _stretch(values: list[int], count: int) -> list[int]:
    return [values[int(i * len(values) / count)] for i in range(count)]


def _plan_motif(memory: Memory, feel: Feel, sampling: Sampling, beats: int,
                rng: np.random.Generator) -> tuple[tuple[int, float, int], ...]:
    """A one-bar melodic motif: a rhythm from density and syncopation, a contour
    that moves mostly by step, leaps now and then (more with complexity) and
    turns back after a leap."""
    steps = 4 * beats
    previous = memory.phrase.motif if memory.phrase is not None else None
    weights = np.where(np.arange(steps) % 4 == 0, 1.0, np.where(np.arange(steps) % 2 == 0, 0.45, 0.15))
    weights = weights * (1.0 - feel.syncopation) + (1.0 - weights) * feel.syncopation * 0.8 + 0.02
    if not _sixteenths(feel):
        weights[1::2] = 0.0  # an unhurried tune moves in eighths
    candidates = []
    for _ in range(16):
        notes = int(np.clip(round(1.5 + 8.0 * feel.density ** 1.2 * beats / 4 + rng.normal(0, 0.8)), 1,
                            int(np.count_nonzero(weights))))
        onsets = sorted(rng.choice(steps, size=notes, replace=False, p=weights / weights.sum()).tolist())
        degree = int(rng.choice([0, 2, 4]))
        contour, last_leap = [], 0
        for _ in onsets:
            contour.append(degree)
            if last_leap:
                move = -int(np.sign(last_leap)) * int(rng.integers(1, 3))
                last_leap = 0
            elif rng.random() < 0.12 + 0.25 * feel.complexity:
                move = int(rng.choice([-5, -4, -3, 3, 4, 5]))
                last_leap = move
            else:
                move = int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
            degree = int(np.clip(degree + move, -3, 9))
        lengths = [((onsets[i + 1] if i + 1 < len(onsets) else steps) - s) * 0.9 for i, s in enumerate(onsets)]
        candidates.append(tuple(zip(onsets, lengths, contour, strict=True)))
    if previous is not None and all(s < steps for s, _, _ in previous):
        candidates.append(previous)
    logits = np.empty(len(candidates))
    for i, motif in enumerate(candidates):
        density, syncopation = _motif_features(motif, beats)
        style = -0.5 * ((density - feel.density) / 0.2) ** 2 - 0.5 * ((syncopation - feel.syncopation) / 0.3) ** 2
        context = 0.0
        if previous is not None:
            context = 1.0 if motif == previous else -0.2 * abs(len(motif) - len(previous))
        logits[i] = context + sampling.guidance * style / 2.0
    return candidates[choose(rng, logits, sampling)]


def _motif_features(motif, beats: int) -> tuple[float, float]:
    per_beat = max(len(motif) / beats, 0.25)
    density = float(np.clip(math.log2(per_beat / 0.25) / 4.0, 0.0, 1.0))
    off = sum(1 for s, _, _ in motif if s % 4 != 0)
    return density, off / len(motif) if motif else 0.0


def _vary_motif(motif, bar_in_phrase: int, rng: np.random.Generator, temperature: float, steps: int):
    """The motif in bar n of its phrase: as stated, answered (its ending moved),
    varied (a few notes changed, more when hot), and closed on the tonic."""
    notes = [list(n) for n in motif]
    if not notes:
        return ()
    if bar_in_phrase == 1:
        notes[-1][2] += int(rng.choice([-2, -1, 1, 2]))
    elif bar_in_phrase == 2:
        for note in notes:
            if rng.random() < 0.2 + 0.2 * temperature:
                note[2] += int(rng.choice([-2, -1, 1, 2]))
    elif bar_in_phrase == 3:
        notes[-1][2] = 0 if notes[-1][2] < 4 else 7
        notes[-1][1] = max(notes[-1][1], (steps - notes[-1][0]) * 0.95)
    return tuple((int(s), float(length), int(np.clip(d, -4, 11))) for s, length, d in notes)


# -- keys -------------------------------------------------------------------------------------

#: Keys a style that names none is played in, drawn by the seed (guitar- and piano-friendly ones).
_COMMON_TONICS = (9, 4, 2, 7, 0, 5, 11, 10)


def choose_key(memory: Memory, feel: Feel, context: Context, sampling: Sampling) -> Key:
    """The key: the style's, else the context's when it states one clearly, else
    one drawn from the seed. With both a prompt key and a context, guidance weighs
    the prompt against what the context plays.

    The key playing is kept unless another is clearly wanted: a blend of two keys
    does not flip between them, and a context that is mostly the model's own
    output (whose key estimate may land a fifth or a relative away) confirms the
    key instead of moving it. Only a context that plays another key clearly
    better (a performer's input) takes the music there.
    """
    chroma = np.array(feel.chroma)
    wanted = chroma - chroma.mean() if feel.has_key else np.zeros(12)
    mode = _mode(feel, sampling)
    current = memory.key
    margin = 0.02
    # The model's own output confirms its key; only input from outside can lead it elsewhere.
    led = context.key_strength * min(1.0, 2.0 * context.outside)
    if context.chroma is not None and led > 0.3:
        fits = {m: _key_fits(np.array(context.chroma), m) for m in ("major", "minor")}
        if abs(feel.mode - 0.5) < 0.12:  # the style leaves the mode open: the context decides it
            best = max(fits, key=lambda m: fits[m].max())
            keep = "minor" if current is not None and current.minor else "major"
            if current is None or fits[best].max() > fits[keep][current.tonic] + _CONTEXT_MARGIN:
                mode = best
            else:
                mode = current.mode if current is not None else mode
        heard = fits["minor" if mode in ("minor", "dorian", "phrygian") else "major"]
        wanted = wanted * sampling.guidance + led * (heard - heard.mean())
        margin = _CONTEXT_MARGIN * led
    if not wanted.any():
        if current is not None:
            return Key(current.tonic, mode)
        rng = np.random.default_rng([sampling.seed & 0xFFFFFFFF, 0x6B6579])
        return Key(int(_COMMON_TONICS[int(rng.integers(len(_COMMON_TONICS)))]), mode)
    tonic = int(np.argmax(wanted))
    if current is not None and wanted[current.tonic] >= wanted[tonic] - margin:
        tonic = current.tonic
    return Key(tonic, mode)


#: How much better (in key-profile correlation) a context must fit another key to move the music there.
_CONTEXT_MARGIN = 0.15


def _key_fits(chroma: np.ndarray, mode: str) -> np.ndarray:
    """How well each of the 12 tonics of a mode explains a pitch-class profile (correlation)."""
    from .analysis import KEY_PROFILES  # the profiles the audio embedding also uses

    profile = KEY_PROFILES[mode]
    return np.array([np.corrcoef(chroma, np.roll(profile, tonic))[0, 1] for tonic in range(12)])


def _mode(feel: Feel, sampling: Sampling) -> str:
    """Major and minor at the ends of the scale; in between (0.5 is "modal or undecided")
    the modes between them, dorian on the minor side and mixolydian on the major side,
    the seed choosing at the very middle."""
    if feel.mode >= 0.62:
        return "major"
    if feel.mode <= 0.38:
        return "minor"
    if abs(feel.mode - 0.5) < 0.02:
        coin = np.random.default_rng([sampling.seed & 0xFFFFFFFF, 0x6D6F6465]).random()
        return "dorian" if coin < 0.5 else "mixolydian"
    return "dorian" if feel.mode < 0.5 else "mixolydian"


# -- the bar ----------------------------------------------------------------------------------

def compose_bar(memory: Memory, bar: int, feel: Feel, sampling: Sampling, beats: int,
                context: Context | None = None, *, bpm: float = 120.0,
                from_step: int = 0) -> tuple[BarPlan, Memory]:
    """Plan bar number ``bar`` (or, with ``from_step``, its remainder after a
    change of style), at the clock's tempo ``bpm``, and return it with the
    composer's new memory."""
    context = context or Context()
    steps = STEPS_PER_BEAT * beats
    rng = np.random.default_rng([sampling.seed & 0xFFFFFFFF, bar, from_step, 0x626172])
    in_phrase = bar % PHRASE_BARS
    section = bar // (PHRASE_BARS * SECTION_PHRASES)
    phrase_start = in_phrase == 0 and from_step == 0
    boundary = ("section" if phrase_start and bar % (PHRASE_BARS * SECTION_PHRASES) == 0
                else "phrase" if phrase_start else "bar")
    key = choose_key(memory, feel, context, sampling)
    phrase = memory.phrase
    # A section is four phrases on one progression and motif (the motif varied within each
    # phrase, the same way each time), as a verse repeats its four bars; a new section, or a
    # style that has moved on, brings new ones.
    moved = memory.planned_for is None or _moved(feel, memory.planned_for)
    fits = phrase is not None and not any(len(c) and c[-1][0] >= steps for c in phrase.chords)
    if fits and boundary == "phrase" and not moved:
        phrase = replace(phrase, start=bar)
    elif not fits or phrase_start:
        memory_for = replace(memory, key=key)
        phrase = Phrase(bar - in_phrase, _plan_chords(memory_for, feel, key, sampling, beats, rng),
                        _plan_motif(memory_for, feel, sampling, beats, rng))
    elif memory.key is not None and key != memory.key and from_step == 0:
        # A modulation lands on the new tonic: the rest of the phrase starts a progression afresh
        # from it. Carried on, the old progression's degrees would sound the new key from its
        # fourth or sixth, and a listener would hear that chord as home.
        fresh = _plan_chords(replace(memory, key=key, phrase=None), feel, key, sampling, beats, rng)
        phrase = replace(phrase, chords=fresh[-in_phrase:] + fresh[:-in_phrase])
    lock = _rhythm_lock(context, steps)
    drums = _plan_drums(memory, feel, sampling, beats, bpm, rng, boundary, lock)
    bass = _plan_line(memory.bass, BASS_ARCHETYPES, "bass", "RFOA", feel, feel.family("bass"), sampling, beats,
                      bpm, rng, boundary, lock)
    comp = _plan_line(memory.comp, COMP_ARCHETYPES, "comp", "Cc0123", feel, feel.family("harmony"), sampling,
                      beats, bpm, rng, boundary, lock)
    # Variations and fills are drawn once per section and place in the phrase, so a repeated
    # phrase varies the same way each time.
    placed = np.random.default_rng([sampling.seed & 0xFFFFFFFF, section, in_phrase, 0x706872])
    last_bar = in_phrase == PHRASE_BARS - 1
    fill = last_bar and feel.stem("drums") > 0.15 and placed.random() < 0.35 + 0.3 * feel.energy
    pattern = _fill(drums[0], placed) if fill else drums[0]

    events: list[Event] = []
    for row, piece in enumerate(DRUM_PIECES):
        for step in np.nonzero(pattern[row])[0]:
            events.append(Event(int(step), "drums", piece, 1.0, float(pattern[row, step])))
    if in_phrase == 0 and feel.energy > 0.55 and bar > 0:
        events.append(Event(0, "drums", "crash", 1.0, 0.8))
    events += _line_events(bass[0], "bass")
    events += _line_events(comp[0], "harmony")
    # Call and response: while a player plays from outside, the lead listens; when they stop,
    # it answers their phrase.
    call = memory.call
    if context.playing > 0.3 and context.outside > 0.1 and context.onsets is not None:
        strong = tuple(k for k, x in enumerate(context.onsets) if x > 0.5)
        call, lead = (strong, context.pitches), ()
    elif call is not None and from_step == 0:
        lead, call = _answer(call, key, steps), None
    else:
        lead = _vary_motif(phrase.motif, in_phrase, placed, sampling.temperature, steps)
    for step, length, degree in lead:
        events.append(Event(step, "lead", degree, length, 0.85 if step % 4 == 0 else 0.72))
    heard = _hear_chords(memory.heard, context, key, bar, from_step)
    chords = _followed(heard, key, bar) or phrase.chords[in_phrase]
    events += _texture_events(feel, steps, chords)
    events = [e for e in events if e.step >= from_step]
    events.sort(key=lambda e: (e.step, e.layer))
    plan = BarPlan(bar, steps, chords, tuple(events), fill)
    return plan, Memory(key, phrase, drums, bass, comp, np.asarray(feel.vector()), call, heard)


# -- following a player's harmony ------------------------------------------------------------

def _hear_chords(heard: tuple[tuple[int, int], ...], context: Context, key: Key, bar: int,
                 from_step: int) -> tuple[tuple[int, int], ...]:
    """The chords heard from outside, with last bar's added while a player plays (forgotten
    when they stop)."""
    if from_step != 0:
        return heard
    if context.playing <= 0.3 or context.outside <= 0.1 or not context.pitches:
        return ()
    return (heard + ((bar - 1, _root_of(context.pitches, key)),))[-2 * PHRASE_BARS:]


def _root_of(pitches: tuple[int, ...], key: Key) -> int:
    """The root of the key's triad that best holds the pitch classes heard (strongest first)."""
    best, best_score = key.tonic, -1.0
    for degree in range(7):
        triad = {key.pitch_class(degree + k) for k in (0, 2, 4)}
        score = sum((len(pitches) - rank) * (pc in triad) for rank, pc in enumerate(pitches))
        score += 0.5 * (pitches[0] == key.pitch_class(degree))  # the strongest note is often the root
        if score > best_score:
            best, best_score = key.pitch_class(degree), score
    return best


def _followed(heard: tuple[tuple[int, int], ...], key: Key, bar: int) -> tuple[tuple[int, int], ...] | None:
    """This bar's chord when following a player: what they played a phrase ago (players repeat
    their progressions), else what they played last bar; None when nothing was heard."""
    played = dict(heard)
    root = played.get(bar - PHRASE_BARS, played.get(bar - 1))
    if root is None:
        return None
    degrees = [d for d in range(7) if key.pitch_class(d) == root]
    return ((0, degrees[0]),) if degrees else None


def _answer(call: tuple[tuple[int, ...], tuple[int, ...]], key: Key,
            steps: int) -> tuple[tuple[int, float, int], ...]:
    """A response to a heard phrase: its rhythm (its strongest onsets, at most six), its pitch
    classes as degrees of the key taken in reverse order, closing on the tonic."""
    onsets = [k for k in call[0] if k < steps][:6] or [0, 4, 8]
    degrees = []
    for pc in reversed(call[1] or (key.tonic,)):
        offsets = [(pc - key.pitch_class(d)) % 12 for d in range(7)]
        degrees.append(int(np.argmin([min(o, 12 - o) for o in offsets])))
    notes = []
    for i, step in enumerate(onsets):
        length = ((onsets[i + 1] if i + 1 < len(onsets) else steps) - step) * 0.9
        degree = 0 if i == len(onsets) - 1 else degrees[i % len(degrees)]
        notes.append((step, float(length), degree))
    return tuple(notes)


#: Families that hold a chord as a pad in the texture layer (the others sparkle an arpeggio).
PAD_FAMILIES = ("synth_pad", "bowed", "voice", "organ", "reed", "brass", "woodwind")


def _texture_events(feel: Feel, steps: int, chords: tuple[tuple[int, int], ...]) -> list[Event]:
    """The texture layer: a pad held through each chord, or, for struck and
    plucked families, a slow high arpeggio that sparkles above the harmony."""
    family = feel.family("texture")
    bounds = [start for start, _ in chords] + [steps]
    if family in PAD_FAMILIES:
        return [Event(start, "texture", "pad", (bounds[i + 1] - start) * 0.98, 0.6)
                for i, (start, _) in enumerate(chords)]
    every = 4 if feel.density > 0.5 else 8
    return [Event(step, "texture", (step // every) % 3, every * 0.9, 0.45) for step in range(0, steps, every)]
