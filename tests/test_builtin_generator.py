"""The builtin model's stream, through the real engine: timing, controls, determinism, sound."""

import copy
import warnings
from fractions import Fraction

import numpy as np
import pytest

from livemusic_kernel import Engine
from livemusic_kernel.models.base import BlockRequest, Controls
from livemusic_kernel.models.builtin.backend import BuiltinBackend
from livemusic_kernel.models.builtin.space import index
from livemusic_kernel.models.builtin.text import default_vocabulary
from livemusic_kernel.style import Style
from livemusic_kernel.tempo import TempoMap

RATE = 48000
BACKEND = BuiltinBackend()


def render(seconds=4.0, prompt="funk", *, block=1920, change=None, **options) -> np.ndarray:
    engine = Engine(BACKEND, sink=None, quiet=True, block_size=block, prompts={"main": prompt}, **options)
    if change is not None:
        change(engine)
    return engine.render(seconds)


def first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    differs = np.nonzero(np.any(a != b, axis=1))[0]
    return int(differs[0]) if len(differs) else None


def only(prompt: str, *stems: str) -> Style:
    """A prompt's style with every other layer silenced."""
    style = BACKEND.embed_text(prompt)
    vector = np.array(style.vector)
    for stem in ("drums", "bass", "harmony", "lead", "texture"):
        if stem not in stems:
            vector[index(stem)] = 0.0
    return Style(vector, style.space, prompt)


def stream(style: Style, seconds: float, *, bpm=120, notes=frozenset(), tempo=None, block=1920, state=None, seed=0):
    """Drive the backend directly, as the engine does; returns the audio, every voice started
    and the last state."""
    tempo = tempo or TempoMap(bpm, RATE)
    controls = Controls(style=style, bpm=Fraction(bpm), notes=frozenset(notes), seed=seed)
    state = state or BACKEND.initial_state()
    audio, voices, start = [], {}, 0
    while start < seconds * RATE:
        request = BlockRequest(start, block, tempo.beat_at(start), controls, tempo)
        out, state = BACKEND.step(state, request)
        audio.append(out)
        for voice in state.voices:
            voices[(voice.onset, voice.layer, voice.pitch, id(voice.audio))] = voice
        start += block
    return np.concatenate(audio), list(voices.values()), state


def test_the_same_seed_gives_the_same_samples_and_other_seeds_other_music():
    assert np.array_equal(render(seed=7), render(seed=7))
    keys, melodies = set(), set()
    for seed in range(4):
        _, voices, state = stream(BACKEND.embed_text("funk"), 6.0, seed=seed)
        keys.add(state.memory.key)
        melodies.add(tuple(v.pitch for v in sorted(voices, key=lambda v: v.onset) if v.layer == 3))
    assert len(keys) >= 2 and len(melodies) == 4


@pytest.mark.parametrize("block", [480, 1031, 4800])
def test_the_output_does_not_depend_on_how_the_stream_is_cut_into_blocks(block):
    def changes(engine):
        engine.set_prompt("main", "jazz in Bb major", at_sample=70001)
        engine.note_on(65, at_sample=120000)

    reference = render(4.0, change=changes)
    assert np.array_equal(render(4.0, block=block, change=changes), reference)


def test_a_step_never_modifies_the_state_it_is_given():
    _, _, state = stream(BACKEND.embed_text("reggae"), 1.0)
    before = copy.deepcopy(state)
    request = BlockRequest(RATE, 1920, Fraction(2), Controls(style=BACKEND.embed_text("metal")), TempoMap(120, RATE))
    BACKEND.step(state, request)
    assert [v.onset for v in state.voices] == [v.onset for v in before.voices]
    assert state.memory.key == before.memory.key
    assert state.next_step == before.next_step and state.bar == before.bar
    assert np.array_equal(state.mix.reverb.lines, before.mix.reverb.lines)
    assert np.array_equal(state.mix.filters, before.mix.filters)


@pytest.mark.parametrize("bpm", [70, 123.4, 174])
def test_the_beats_land_on_the_tempo_clocks_samples(bpm):
    """Every kick starts on the exact sample of its sixteenth on the engine's tempo map."""
    tempo = TempoMap(bpm, RATE)
    _, voices, _ = stream(only("techno", "drums"), 6.0, tempo=tempo)
    kicks = sorted(v.onset for v in voices if v.piece == "kick")
    assert len(kicks) >= 6
    grid = {tempo.sample_of(Fraction(step, 4)) for step in range(int(6 * bpm / 60 * 4) + 8)}
    assert all(k in grid for k in kicks)
    beats = [tempo.sample_of(b) for b in range(int(6 * bpm / 60))]
    assert sum(b in set(kicks) for b in beats) >= 0.85 * len(beats)  # four on the floor; a fill takes two beats


def test_beats_follow_a_tempo_ramp_to_the_sample():
    tempo = TempoMap(100, RATE).with_ramp(160, 0, 16)
    _, voices, _ = stream(only("techno", "drums"), 8.0, tempo=tempo)
    onsets = {v.onset for v in voices if v.layer == 0}
    on_grid = {tempo.sample_of(Fraction(step, 4)) for step in range(4 * 20)}
    assert len(onsets) > 10 and onsets <= on_grid


def test_prompt_changes_are_heard_from_their_sample():
    for prompt in ("ambient", "metal", "funk in C# minor"):
        changed = render(change=lambda e, prompt=prompt: e.set_prompt("main", prompt, at_sample=100_000))
        assert first_difference(changed, render()) == 100_000


def test_weight_changes_are_heard_from_their_sample():
    def two(engine):
        engine.set_prompt("colour", "flute", weight=0.2)

    def moved(engine):
        two(engine)
        engine.set_weight("colour", 2.0, at_sample=99_999)

    assert first_difference(render(change=moved), render(change=two)) == 99_999


@pytest.mark.parametrize("at", [100_000, 103_333])
def test_held_notes_and_key_changes_sound_within_one_block(at):
    base = render()
    for change in (lambda e: e.note_on(62, at_sample=at),
                   lambda e: e.set_prompt("main", "funk in F# major", at_sample=at)):
        first = first_difference(render(change=change), base)
        assert first is not None and at <= first < at + 1920


def test_held_notes_pin_the_harmony_and_the_bass():
    held = {62, 65, 69}  # D minor
    _, voices, _ = stream(BACKEND.embed_text("house in E major"), 6.0, notes=held)
    pitched = [v for v in voices if v.pitch is not None and v.layer in (1, 2)]
    assert pitched and all(v.pitch % 12 in {2, 5, 9} for v in pitched)
    bass = [v.pitch % 12 for v in voices if v.layer == 1]
    assert max(set(bass), key=bass.count) == 2  # the bass centres on the lowest held note, D
    leads = [v.pitch % 12 for v in voices if v.layer == 3]
    assert leads and all(pc in {2, 5, 9} for pc in leads)


def test_notes_follow_the_key_of_the_prompt():
    _, voices, _ = stream(BACKEND.embed_text("piano ballad in Ab major"), 8.0)
    scale = {8, 10, 0, 1, 3, 5, 7}
    pitched = [v.pitch % 12 for v in voices if v.pitch is not None and v.layer in (1, 2, 4)]
    assert pitched and np.mean([pc in scale for pc in pitched]) > 0.95


def test_an_instrument_change_fades_the_old_notes_out_at_once():
    _, _, state = stream(BACKEND.embed_text("organ"), 3.0)
    at = 3 * RATE
    # A short block: the old notes fade over 30 ms, and are gone after a block of 1920 frames.
    request = BlockRequest(at, 480, Fraction(6), Controls(style=BACKEND.embed_text("harp")), TempoMap(120, RATE))
    _, after = BACKEND.step(state, request)
    sustained = [v for v in after.voices if v.onset < at and v.layer in (1, 2, 3, 4)]
    assert sustained and all(v.cut == at for v in sustained)


@pytest.mark.parametrize("beats", [3, 5, 7])
def test_any_meter_plays(beats):
    audio = render(3.0, beats_per_bar=beats)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.05


@pytest.mark.parametrize("bpm", [20, 300])
def test_extreme_tempi_play(bpm):
    audio = render(3.0, bpm=bpm)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01


def test_switching_to_the_builtin_model_mid_bar_starts_on_the_next_sixteenth():
    engine = Engine("click", sink=None, quiet=True, prompts={"main": "techno"})
    engine.set_backend("builtin", at_sample=51_001)
    engine.set_prompt("main", "rock")
    audio = engine.render(3.0)
    assert np.isfinite(audio).all() and np.abs(audio[60_000:]).max() > 0.05


def test_players_are_loose_the_same_way_in_every_bar():
    """Acoustic players' microtiming is their feel: each step of the bar is pushed or laid back
    alike every time (drawn per bar, two layers holding the same chord would meet at another
    phase in every bar, and the chord would swell and hollow out at random)."""
    bar = 4 * RATE // 2  # 120 BPM
    _, voices, _ = stream(only("jazz", "drums", "harmony", "texture"), 12.0)
    places: dict[tuple, set[int]] = {}
    for voice in voices:
        in_bar = voice.onset % bar
        places.setdefault((voice.layer, voice.piece, in_bar // (bar // 16)), set()).add(in_bar)
    assert len({key[:2] for key in places}) >= 4  # several drum pieces and both pitched layers
    assert all(len(where) == 1 for where in places.values()), places
    late = {next(iter(where)) % (bar // 16) for where in places.values()}
    assert len(late) > 3  # loose: the steps are not all on the grid, nor all equally late


@pytest.mark.parametrize("bpm", [120.0, 150.0])
def test_a_breakbeat_is_heard_at_the_clocks_tempo_not_half_of_it(bpm):
    """Drum and bass's broken beat leaves beat three without a kick; its hats keep every beat
    so that an independent beat tracker (librosa's) hears the tempo, not the snare's half."""
    from livemusic_kernel.evaluation import measures

    heard, _ = measures.beat_tempo(render(20.0, "drum and bass", bpm=bpm), RATE)
    assert measures.tempo_verdict(heard, bpm) == "right", heard


def test_every_vocabulary_term_plays_finite_bounded_audio():
    for term in default_vocabulary().terms:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            audio, _, _ = stream(BACKEND.embed_text(term.name), 0.4, block=4800)
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 0.795, term.name


def test_silencing_every_layer_gives_silence_not_noise():
    audio, _, _ = stream(only("techno"), 2.0)
    assert np.abs(audio).max() < 1e-3


def test_the_sound_is_finite_below_the_ceiling_and_has_no_clicks_at_block_joins():
    for prompt in ("techno", "jazz", "ambient", "metal"):
        audio = render(8.0, prompt)
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 10 ** (-2.0 / 20) + 1e-6
        steps = np.abs(np.diff(audio, axis=0)).max(axis=1)
        joins = np.arange(1920, len(audio), 1920) - 1
        elsewhere = np.delete(steps, joins)
        assert steps[joins].max() <= elsewhere.max(), prompt


def test_distorted_guitar_chords_are_heard_as_distorted():
    """Chords at high grit go through an amp as a whole: the intermodulation between their notes
    fills the spectrum between the partials, as a real amp's does (General MIDI's distorted
    guitars read 0.6, a clean one 0.06). Saturated note by note, only harmonics of each note,
    they read 0.0, as clean as a clean guitar; through the amp 0.39."""
    from livemusic_kernel.audio import AudioClip

    audio, _, _ = stream(only("distorted guitar", "harmony"), 8.0)
    heard = BACKEND.embed_audio(AudioClip.from_array(audio, RATE)).vector[index("grit")]
    assert heard > 0.3, heard


@pytest.mark.parametrize("prompt", ["reggae", "boom bap"])
def test_a_quiet_groove_is_heard_as_loud_as_its_stem_level_asks(prompt):
    """The drum bus brings a sparse groove on a short kick up to a backbeat's loudness, as an
    engineer sets it: reggae's one drop (kick and rim on beat three) and boom bap ask drums 0.8
    and 1.0 and were heard at 0.16 and 0.39, techno's four on the floor at 0.86."""
    from livemusic_kernel.audio import AudioClip

    style = BACKEND.embed_text(prompt)
    audio = render(8.0, prompt, bpm=BACKEND.preferred_bpm(style))
    heard = BACKEND.embed_audio(AudioClip.from_array(audio, RATE)).vector[index("drums")]
    assert heard > 0.45, heard


def test_a_groove_louder_than_the_reference_keeps_its_level():
    from livemusic_kernel.models.builtin import generator
    from livemusic_kernel.models.builtin.composer import drum_pattern

    def level(archetype, kind):
        pattern = drum_pattern(archetype)
        return generator._bus_level(pattern.tobytes(), pattern.shape, kind, 0.5, 0.0, 9, 120)

    assert level("backbeat", "acoustic") == pytest.approx(1.0)  # the reference, at another tempo
    assert level("rock drive", "acoustic") == 1.0  # louder: not turned down
    assert 2.0 < level("one drop", "acoustic") < level("jazz swing", "acoustic") == generator._MOST_BUS_GAIN


def test_an_unknown_drum_archetype_lists_the_archetypes():
    from livemusic_kernel.models.builtin.composer import drum_pattern

    with pytest.raises(ValueError, match="archetypes: four on the floor, disco"):
        drum_pattern("polka")
