"""What the builtin model hears of its context: the listener and the audio-injection hook."""

import numpy as np

from livemusic_kernel.models.base import BlockRequest, Controls
from livemusic_kernel.models.builtin.analysis import KEY_PROFILES
from livemusic_kernel.models.builtin.backend import BuiltinBackend
from livemusic_kernel.models.builtin.context import Context, Listener
from livemusic_kernel.tempo import TempoMap

RATE = 48000


def chords(tonics_and_thirds, seconds_each=1.0) -> np.ndarray:
    """Sine triads (root, third, fifth in octave 4, bass an octave down), one after another."""
    out = []
    t = np.arange(int(seconds_each * RATE)) / RATE
    for root, third in tonics_and_thirds:
        hz = [440.0 * 2 ** ((root + 60 + k - 69) / 12) for k in (0, third, 7, -12)]
        out.append(sum(np.sin(2 * np.pi * f * t) for f in hz) * 0.1)
    mono = np.concatenate(out).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def best_key(chroma) -> tuple[int, str]:
    scores = {(t, m): np.corrcoef(chroma, np.roll(p, t))[0, 1] for m, p in KEY_PROFILES.items() for t in range(12)}
    return max(scores, key=scores.get)


def test_the_listener_hears_the_pitch_classes_and_the_key_of_its_context():
    listener = Listener()
    audio = chords([(0, 4), (5, 4), (7, 4), (0, 4)])  # I IV V I in C major
    context = listener.measure(listener.hear(listener.initial(), audio, 0))
    assert context.key_strength > 0.6
    top = set(np.argsort(context.chroma)[-3:])
    assert top <= {0, 2, 4, 5, 7, 9, 11} and 0 in top
    assert best_key(context.chroma) == (0, "major")


def test_silence_tells_nothing():
    listener = Listener()
    assert listener.measure(listener.initial()) == Context()


def test_what_is_heard_does_not_depend_on_how_the_audio_is_cut():
    listener = Listener()
    audio = chords([(2, 3), (7, 3), (9, 4)], 0.7)
    whole = listener.hear(listener.initial(), audio, 1000)
    state = listener.initial()
    for begin, end in ((0, 7), (7, 1930), (1930, 50001), (50001, len(audio))):
        state = listener.hear(state, audio[begin:end], 1000 + begin)
    assert np.array_equal(whole.own.audio, state.own.audio) and whole.own.end == state.own.end


def test_input_from_outside_is_heard_with_the_output_and_its_share_measured():
    listener = Listener()
    own, played = chords([(0, 4)] * 4), chords([(4, 3)] * 4) * 3.0
    state = listener.hear(listener.initial(), own, 0)
    alone = listener.measure(state)
    assert alone.outside == 0.0
    mixed = listener.measure(listener.hear(state, played, 0, outside=True))
    assert 0.5 < mixed.outside < 1.0 and mixed.chroma != alone.chroma
    # Input that stopped a while ago has left the context: its place is silence.
    later = listener.hear(listener.hear(state, played[:48000], 0, outside=True), own, len(own))
    assert listener.measure(later).outside < mixed.outside


def _play(backend, state, style, start, seconds, *, guidance=4.0, inject=None):
    tempo, block = TempoMap(120, RATE), 1920
    controls = Controls(style=style, guidance=guidance)
    for at in range(start, start + int(seconds * RATE), block):
        request = BlockRequest(at, block, tempo.beat_at(at), controls, tempo)
        _, state = backend.step(state, request)
        if inject is not None:
            state = backend.hear(state, inject[at % len(inject):][:block], at)
    return state


def test_the_model_hears_its_own_key():
    backend = BuiltinBackend()
    state = _play(backend, backend.initial_state(), backend.embed_text("house in D minor"), 0, 8.0)
    # The listener hears the whole mix, drums too: house reads 0.48 (its drums alone, whose kick is
    # tuned to the tonic, 0.33, with a nearly flat chroma; its drums and bass 0.52), and its four
    # strongest pitch classes are the key's (the fifth strongest is as likely a drum's noise).
    assert state.context.key_strength > 0.45 and state.context.outside == 0.0
    d_harmonic_minor = {2, 4, 5, 7, 9, 10, 0, 1}
    assert set(np.argsort(state.context.chroma)[-4:]) <= d_harmonic_minor
    assert (state.memory.key.tonic, state.memory.key.minor) == (2, True)  # its own key estimate never moved it


def test_injected_audio_steers_the_key_of_a_prompt_that_names_none():
    """A performer plays E minor into a prompt without a key: with low guidance the next bars are
    in E minor (or its relative), whatever key the seed would have chosen."""
    backend = BuiltinBackend()
    e_minor = chords([(4, 3), (9, 3), (11, 4), (4, 3)] * 3)
    style = backend.embed_text("house")
    state = _play(backend, backend.initial_state(), style, 0, 10.0, guidance=0.5, inject=e_minor * 4)
    assert (state.memory.key.tonic, state.memory.key.minor) in {(4, True), (7, False)}
    alone = _play(backend, backend.initial_state(), style, 0, 10.0, guidance=0.5)
    assert (alone.memory.key.tonic, alone.memory.key.minor) not in {(4, True), (7, False)}


def test_injected_rhythm_pulls_the_groove_and_is_never_played_back():
    """A player taps a syncopated figure into house: the output's onsets per sixteenth follow it far
    more than without the player, and the output does not contain the player's audio."""
    backend = BuiltinBackend()
    step = RATE // 8  # a sixteenth at 120 BPM
    figure = np.zeros(16 * RATE, dtype=np.float32)
    t = np.arange(int(0.1 * RATE)) / RATE
    tap = (0.3 * np.sin(2 * np.pi * 660 * t) * np.exp(-t / 0.03)).astype(np.float32)
    for bar in range(8):
        for k in (3, 6, 10, 12, 14):
            figure[(bar * 16 + k) * step:(bar * 16 + k) * step + len(tap)] = tap
    figure2 = np.stack([figure, figure], axis=1)

    def render(inject):
        tempo, state, out = TempoMap(120, RATE), backend.initial_state(), []
        controls = Controls(style=backend.embed_text("house"), seed=1)
        for at in range(0, len(figure), 1920):
            audio, state = backend.step(state, BlockRequest(at, 1920, tempo.beat_at(at), controls, tempo))
            out.append(audio)
            if inject:
                state = backend.hear(state, figure2[at:at + 1920], at)
        return np.concatenate(out)

    def per_sixteenth(x):
        mono = x.mean(axis=1) if x.ndim == 2 else x
        level = np.log10(np.add.reduceat(mono ** 2, np.arange(0, len(mono), 240)) + 1e-9)
        rise = np.maximum(np.diff(level, prepend=level[0]), 0)
        cells = rise[: len(rise) // 25 * 25].reshape(-1, 25)[:, :4].max(axis=1)
        return cells[: len(cells) // 16 * 16].reshape(-1, 16)[-4:].mean(axis=0)

    played, alone, heard = per_sixteenth(figure), render(False), render(True)
    assert np.corrcoef(played, per_sixteenth(heard))[0, 1] > np.corrcoef(played, per_sixteenth(alone))[0, 1] + 0.2
    assert max(abs(np.corrcoef(figure, heard[:, ch])[0, 1]) for ch in (0, 1)) < 0.1
