"""The shipped vocabulary: big enough, well formed, and saying what the words mean."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from livemusic_kernel.models.builtin import TextEmbedder, default_vocabulary, vocab_genres, vocab_instruments
from livemusic_kernel.models.builtin.space import TIMBRES, index

VOCABULARY = default_vocabulary()  # builds it, which checks dimensions, ranges, normal form, uniqueness


def test_it_has_the_terms_the_issue_asks_for():
    assert len(VOCABULARY) >= 250
    assert VOCABULARY.count("genre") >= 100
    assert VOCABULARY.count("instrument") >= 100
    assert VOCABULARY.count("mood") + VOCABULARY.count("production") >= 50


@pytest.mark.parametrize("family", ["electronic", "rock and metal", "jazz and blues", "hip hop and r&b",
                                    "folk and world", "classical", "early music", "experimental"])
def test_every_genre_family_is_covered(family):
    names = {t.name for t in vocab_genres.TERMS}
    matching = [k for k in vocab_genres.FAMILIES if family.split()[0] in k.lower()]
    assert matching, f"no genre family like {family!r} in {list(vocab_genres.FAMILIES)}"
    members = vocab_genres.FAMILIES[matching[0]]
    assert len(members) >= 10 and set(members) <= names


@pytest.mark.parametrize("family, least", [("world", 35), ("drum machine", 8), ("synth", 12)])
def test_instruments_cover_the_world_drum_machines_and_synths(family, least):
    names = {t.name for t in vocab_instruments.TERMS}
    members = vocab_instruments.FAMILIES[family]
    assert len(members) >= least and set(members) <= names


def test_every_name_and_alias_reads_back_as_its_own_term():
    embedder = TextEmbedder(VOCABULARY)
    for term in VOCABULARY.terms:
        for phrase in (term.name, *term.aliases):
            found, _, unknown = embedder.read(phrase)
            assert found == [term] and not unknown, f"{phrase!r} reads as {[t.name for t in found]} {unknown}"


def test_genres_set_no_key_and_instruments_no_tempo():
    for term in VOCABULARY.terms:
        assert not any(d.startswith("key_") for d in term.values), term.name
        if term.kind == "instrument":
            assert not {"tempo", "mode"} & set(term.values), term.name


def test_accordion_steel_drum_and_fuzz_guitar_are_different_instruments():
    embedder = TextEmbedder(VOCABULARY)
    styles = {name: embedder.embed(name) for name in ("accordion", "steel drum", "fuzz guitar")}
    timbre = slice(index(f"timbre_{TIMBRES[0]}"), index(f"timbre_{TIMBRES[-1]}") + 1)
    families = {name: TIMBRES[int(np.argmax(style.vector[timbre]))] for name, style in styles.items()}
    assert len(set(families.values())) == 3, families
    assert styles["fuzz guitar"].vector[index("grit")] > styles["accordion"].vector[index("grit")] + 0.4


def test_everyday_prompts_read_without_unknown_words():
    embedder = TextEmbedder(VOCABULARY)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for prompt in ("minimal techno", "Lo-Fi Hip Hop with rhodes", "dark ambient drones",
                       "bebop trumpet", "flamenco guitar", "808 trap", "dreamy shoegaze", "sitar and tabla"):
            embedder.embed(prompt)
