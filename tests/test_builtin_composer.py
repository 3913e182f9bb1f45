"""The builtin model's composer: candidates, sampling controls, phrases, keys and meters."""

from dataclasses import replace

import numpy as np
import pytest

from livemusic_kernel.models.builtin.composer import (
    DRUM_ARCHETYPES,
    PHRASE_BARS,
    Context,
    Memory,
    Sampling,
    choose,
    choose_key,
    compose_bar,
)
from livemusic_kernel.models.builtin.feel import feel_of
from livemusic_kernel.models.builtin.text import TextEmbedder
from livemusic_kernel.models.builtin.theory import Key

TEXT = TextEmbedder()


def feel(prompt: str):
    return feel_of(TEXT.embed(prompt).vector)


def play(prompt: str, bars: int, sampling: Sampling | None = None, beats: int = 4):
    sampling, memory, plans = sampling or Sampling(), Memory(), []
    for bar in range(bars):
        plan, memory = compose_bar(memory, bar, feel(prompt), sampling, beats)
        plans.append(plan)
    return plans, memory


def drums(plan) -> tuple:
    return tuple((e.step, e.what) for e in plan.events if e.layer == "drums" and e.what != "crash")


def test_choose_is_greedy_when_cold_and_never_leaves_the_top_k():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 3.0, 1.0, 2.9, -5.0])
    assert choose(rng, logits, Sampling(temperature=0.0)) == 1
    assert {choose(rng, logits, Sampling(temperature=100.0, top_k=2)) for _ in range(200)} == {1, 3}
    assert len({choose(rng, logits, Sampling(temperature=100.0, top_k=5)) for _ in range(400)}) == 5
    assert choose(rng, logits, Sampling(temperature=5.0, top_k=1)) == 1


def test_a_seed_gives_the_same_music_and_another_seed_other_music():
    a, _ = play("funk", 8, Sampling(seed=1))
    b, _ = play("funk", 8, Sampling(seed=1))
    c, _ = play("funk", 8, Sampling(seed=2))
    assert [p.events for p in a] == [p.events for p in b]
    assert [p.events for p in a] != [p.events for p in c]


def test_temperature_is_how_freely_the_material_mutates():
    def distinct_bars(temperature):
        counts = []
        for seed in range(4):
            plans, _ = play("house", 12, Sampling(temperature=temperature, seed=seed))
            counts.append(len({drums(p) for p in plans if not p.fill}))
        return np.mean(counts)

    assert distinct_bars(0.0) == 1.0          # cold: the groove found first is kept
    assert distinct_bars(2.5) > distinct_bars(0.5) >= 1.0


def test_guidance_weighs_the_style_against_the_context():
    """After four bars of jazz the prompt becomes techno: with strong guidance the next bar's
    drums follow the new style at once, with none they keep the context's groove."""
    def after_switch(guidance):
        sampling = Sampling(temperature=0.0, guidance=guidance)
        plans, memory = play("jazz", PHRASE_BARS, sampling)
        plan, _ = compose_bar(memory, PHRASE_BARS + 1, feel("techno"), sampling, 4)
        return drums(plans[-2]), drums(plan), memory.drums[1]

    before, after, _ = after_switch(8.0)
    kicks = [s for s, what in after if what == "kick"]
    assert before != after and kicks == [0, 4, 8, 12]  # four on the floor
    before, after, _ = after_switch(0.0)
    assert before == after


def test_bars_are_planned_in_phrases_with_a_progression_a_motif_and_a_fill_into_the_next():
    plans, memory = play("pop rock", 2 * PHRASE_BARS, Sampling(seed=3))
    assert memory.phrase is not None and memory.phrase.start == PHRASE_BARS
    assert all(len(p.chords) >= 1 and p.chords[0][0] == 0 for p in plans)
    assert plans[0].chords[0][1] == 0  # a piece starts at home
    leads = [[e.what for e in p.events if e.layer == "lead"] for p in plans[:PHRASE_BARS]]
    assert all(leads) and leads[0] != leads[1]  # the motif comes back varied
    fills = [p.fill for p in plans]
    assert not any(f for i, f in enumerate(fills) if i % PHRASE_BARS != PHRASE_BARS - 1)  # fills only close phrases
    assert any(e.what == "crash" for e in plans[PHRASE_BARS].events)  # the next phrase is marked


@pytest.mark.parametrize("beats", [2, 3, 5, 7])
def test_every_meter_gets_bars_of_its_length(beats):
    plans, _ = play("folk", 3, beats=beats)
    for plan in plans:
        assert plan.steps == 4 * beats and all(0 <= e.step < plan.steps for e in plan.events)
        assert any(e.layer == "drums" for e in plan.events) and any(e.layer == "bass" for e in plan.events)


def test_a_remainder_after_a_change_of_style_starts_where_asked():
    plan, _ = compose_bar(Memory(), 0, feel("techno"), Sampling(), 4, from_step=9)
    assert plan.events and min(e.step for e in plan.events) >= 9


def test_the_key_comes_from_the_style_then_the_context_then_the_seed_and_holds_through_blends():
    assert choose_key(Memory(), feel("house in D minor"), Context(), Sampling()) == Key(2, "minor")
    assert choose_key(Memory(), feel("happy house in Eb major"), Context(), Sampling()).tonic == 3
    seeded = {choose_key(Memory(), feel("house"), Context(), Sampling(seed=s)).tonic for s in range(20)}
    assert len(seeded) > 3  # no key asked for: the seed picks one ...
    current = Memory(key=Key(7, "minor"))
    assert choose_key(current, feel("house"), Context(), Sampling()).tonic == 7  # ... and keeps it
    # An even blend of two keys keeps the one playing instead of flipping between them.
    blend = feel_of(0.5 * TEXT.embed("house in G minor").vector + 0.5 * TEXT.embed("house in D minor").vector)
    assert choose_key(current, blend, Context(), Sampling()).tonic == 7
    # A context that clearly plays in E is followed when the prompt names no key.
    e_minor = np.roll([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0], 4)
    context = Context(tuple(e_minor / e_minor.sum()), key_strength=0.9, outside=1.0)
    assert choose_key(Memory(), feel("house"), replace(context, outside=0.0), Sampling()).tonic != 4  # own output
    assert choose_key(Memory(), feel("house"), context, Sampling()).tonic == 4
    # With strong guidance a prompt's own key outweighs the context.
    assert choose_key(Memory(), feel("house in D minor"), context, Sampling(guidance=8.0)).tonic == 2


def test_the_archetypes_cover_the_families_of_groove():
    names = {a.name for a in DRUM_ARCHETYPES}
    assert {"four on the floor", "backbeat", "breakbeat", "jazz swing", "one drop", "half time"} <= names
    for archetype in DRUM_ARCHETYPES:
        assert all(len(part) == 16 for part in archetype.parts.values()), archetype.name


def _heard(onsets, playing=0.8, pitches=(4, 7, 11)):
    """A context in which an outside player played ``onsets`` (sixteenths) in the last bar."""
    row = np.zeros(16)
    row[list(onsets)] = 1.0
    return Context(chroma=None, key_strength=0.0, outside=0.6, onsets=tuple(row), playing=playing,
                   pitches=tuple(pitches))


def test_the_groove_locks_to_what_an_outside_player_plays():
    player = (3, 6, 10, 12, 14)
    alone, _ = play("house", 6)
    memory, plans = Memory(), []
    for bar in range(6):
        plan, memory = compose_bar(memory, bar, feel("house"), Sampling(), 4, _heard(player, playing=0.2))
        plans.append(plan)

    def on_player(plan):
        hits = [e.step for e in plan.events if e.layer in ("drums", "bass") and e.what not in ("hat", "open_hat")]
        return sum(step in player for step in hits) / max(1, len(hits))

    assert np.mean([on_player(p) for p in plans[2:]]) > np.mean([on_player(p) for p in alone[2:]]) + 0.1


def test_the_lead_listens_while_a_player_plays_and_answers_when_they_stop():
    memory = Memory()
    plan, memory = compose_bar(memory, 0, feel("jazz in E minor"), Sampling(), 4)
    assert any(e.layer == "lead" for e in plan.events)
    plan, memory = compose_bar(memory, 1, feel("jazz in E minor"), Sampling(), 4, _heard((0, 4, 6, 10)))
    assert not any(e.layer == "lead" for e in plan.events) and memory.call is not None  # listening
    plan, memory = compose_bar(memory, 2, feel("jazz in E minor"), Sampling(), 4, _heard((0, 4, 6, 10), 0.0))
    lead = [e for e in plan.events if e.layer == "lead"]
    assert [e.step for e in lead] == [0, 4, 6, 10] and lead[-1].what == 0  # its rhythm, home at the end
    assert memory.call is None


def test_the_band_plays_the_chords_a_player_played_a_phrase_earlier():
    # The player's progression in C major, one chord a bar: C, F, G, C (their strongest pitch first).
    progression = [(0, 4, 7), (5, 9, 0), (7, 11, 2), (0, 4, 7)]
    memory, chords = Memory(), []
    for bar in range(2 * PHRASE_BARS + 1):
        heard = _heard((0, 4, 8, 12), pitches=progression[(bar - 1) % 4]) if bar else None
        plan, memory = compose_bar(memory, bar, feel("pop in C major"), Sampling(), 4, heard)
        chords.append(plan.chords)
    key = Key(0, "major")
    roots = [key.pitch_class(c[0][1]) for c in chords]
    assert roots[1:PHRASE_BARS + 1] == [0, 5, 7, 0]       # until a phrase is heard: last bar's chord
    assert roots[PHRASE_BARS + 1:] == [5, 7, 0, 0]        # then the chord of a phrase earlier
    assert memory.heard[-1] == (2 * PHRASE_BARS - 1, 0)


def test_the_band_forgets_the_chords_when_the_player_stops():
    plan, memory = compose_bar(Memory(), 0, feel("pop in C major"), Sampling(), 4)
    _, memory = compose_bar(memory, 1, feel("pop in C major"), Sampling(), 4, _heard((0, 8), pitches=(9, 0, 4)))
    assert memory.heard == ((0, 9),)
    _, memory = compose_bar(memory, 2, feel("pop in C major"), Sampling(), 4, _heard((0, 8), playing=0.0))
    assert memory.heard == ()


def test_a_modulation_starts_the_rest_of_the_phrase_on_the_new_tonic():
    memory = Memory()
    for bar in range(2):
        _, memory = compose_bar(memory, bar, feel("pop in C major"), Sampling(), 4)
    plan, memory = compose_bar(memory, 2, feel("pop in A major"), Sampling(), 4)
    assert memory.key == Key(9, "major") and plan.chords[0][1] == 0
