"""The builtin model's text embedding: phrase matching, composition, keys, unknown words."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from livemusic_kernel.models.builtin import (
    BUILTIN_SPACE,
    DIMENSIONS,
    Term,
    TextEmbedder,
    UnknownTermWarning,
    Vocabulary,
    normalize,
)
from livemusic_kernel.models.builtin.space import bpm_to_tempo, index, neutral_vector, tempo_to_bpm

TERMS = (
    Term("techno", "genre", {"tempo": bpm_to_tempo(128), "drums": 0.9, "timbre_electronic_drums": 1.0}),
    Term("minimal", "production", {"density": 0.2}),
    Term("minimal techno", "genre", {"tempo": bpm_to_tempo(126), "density": 0.3, "drums": 0.8}),
    Term("drum and bass", "genre", {"tempo": bpm_to_tempo(174)}, ("dnb", "drum n bass")),
    Term("drum kit", "instrument", {"timbre_acoustic_drums": 1.0}),
    Term("steel drum", "instrument", {"timbre_mallet": 1.0, "brightness": 0.8}),
    Term("flute", "instrument", {"timbre_woodwind": 1.0, "lead": 0.8, "brightness": 0.6}),
    Term("lofi", "production", {"lofi": 0.9}),
    Term("melody", "instrument", {"lead": 0.9}),
)


@pytest.fixture
def embed():
    return TextEmbedder(Vocabulary(TERMS)).embed


def value(style, name):
    return style.vector[index(name)]


def test_the_space_documents_every_dimension():
    assert BUILTIN_SPACE.size == len(DIMENSIONS) == 46
    assert all(d.doc and 0 <= d.neutral <= 1 for d in DIMENSIONS)
    assert tempo_to_bpm(bpm_to_tempo(128)) == pytest.approx(128)
    with pytest.raises(ValueError, match="unknown style dimension 'loudness'; dimensions: tempo, brightness"):
        index("loudness")


@pytest.mark.filterwarnings("error::livemusic_kernel.models.builtin.UnknownTermWarning")
def test_longest_phrases_win_and_case_punctuation_and_plurals_are_ignored(embed):
    assert value(embed("Minimal-Techno!"), "density") == 0.3          # the phrase, not "minimal" + "techno"
    assert value(embed("STEEL DRUMS"), "timbre_mallet") == 1.0
    assert value(embed("flutes"), "timbre_woodwind") == 1.0
    assert value(embed("melodies"), "lead") == 0.9
    assert value(embed("lo-fi"), "lofi") == 0.9 and value(embed("Lo Fi"), "lofi") == 0.9   # joined up
    for spelling in ("dnb", "Drum & Bass", "drum n bass", "drum and bass"):   # aliases, and & for and
        assert value(embed(spelling), "tempo") == pytest.approx(bpm_to_tempo(174))


def test_words_compose_dimension_by_dimension(embed):
    style = embed("techno with a flute")
    assert value(style, "timbre_electronic_drums") == 1.0 and value(style, "timbre_woodwind") == 1.0
    assert value(style, "brightness") == 0.6                   # only the flute says
    assert value(style, "drums") == 0.9 and value(style, "lead") == 0.8
    both = embed("steel drum flute")
    assert value(both, "brightness") == pytest.approx(0.7)     # both say: the mean
    assert value(embed("techno"), "space") == neutral_vector()[index("space")]  # nobody says: neutral


def test_keys_set_the_chroma_and_the_mode(embed):
    style = embed("techno in Eb minor")
    chroma = style.vector[index("key_C"):index("key_B") + 1]
    assert chroma.argmax() == 3 and chroma.sum() == 1.0 and value(style, "mode") == 0.0
    assert value(embed("F# major flute"), "key_F#") == 1.0 and value(embed("F# major"), "mode") == 1.0
    assert value(embed("key of a"), "key_A") == 1.0
    plain = embed("techno")
    assert np.allclose(plain.vector[index("key_C"):index("key_B") + 1], 1 / 12)  # no key said: none preferred


def test_unknown_words_warn_with_the_nearest_terms_and_are_ignored(embed):
    with pytest.warns(UnknownTermWarning, match=r"unknown word 'tecno' in prompt 'tecno flute' is ignored; "
                                                r"nearest known terms: techno"):
        style = embed("tecno flute")
    assert style == embed("flute").__class__(embed("flute").vector, BUILTIN_SPACE, "tecno flute")


def test_a_prompt_of_unknown_words_is_the_neutral_style_not_an_error(embed):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        style = embed("xyzzy plugh")
    assert len(caught) == 2 and all(issubclass(w.category, UnknownTermWarning) for w in caught)
    assert np.array_equal(style.vector, neutral_vector())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        embed("the music of a flute, 2024")  # stop words and numbers: no warning


def test_normal_form():
    assert normalize("  Drum-&-Bass!! ") == "drum & bass" and normalize("C# Minor") == "c# minor"


@pytest.mark.parametrize("bad, message", [
    ((Term("x", "colour", {}),), "kinds: genre"),
    ((Term("x", "genre", {"loudness": 1}),), "unknown style dimension"),
    ((Term("x", "genre", {"grit": 2}),), "outside 0..1"),
    ((Term("Hip-Hop", "genre", {}),), "not in normal form"),
    ((Term("x", "genre", {}), Term("y", "genre", {}, ("x",))), "names both"),
])
def test_a_bad_vocabulary_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary(bad)


def test_the_style_space_document_matches_the_code():
    from pathlib import Path

    from livemusic_kernel.models.builtin.space import markdown_table

    document = (Path(__file__).resolve().parents[1] / "docs" / "builtin-style-space.md").read_text()
    assert markdown_table() in document, "regenerate docs/builtin-style-space.md from space.markdown_table()"
