"""The Magenta RT 2 backend, run for real: the package's own classes at toy size.

The tiny model (``model="tiny"``) is MagentaRT2ModelBase, SpectroStream and a
MusicCoCa-shaped style model at toy size with random weights (see
``livemusic_kernel/models/magenta/_tiny.py``): its music is noise-like, but
every path through the backend is the real one. CI installs the extra; the
tests skip only where ``magenta-rt`` cannot be installed at all.
"""

from __future__ import annotations

import copy
import json
import platform
import sys

import numpy as np
import pytest
from conftest import first_difference

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11) or platform.system() == "Windows",
    reason="magenta-rt (the magenta extra) installs only on Linux and macOS with Python 3.11 or newer")

from livemusic_kernel import Engine  # noqa: E402
from livemusic_kernel.errors import MissingExtraError  # noqa: E402
from livemusic_kernel.models import available_backends, get_backend  # noqa: E402
from livemusic_kernel.models.base import BlockRequest, Controls  # noqa: E402
from livemusic_kernel.models.magenta import (  # noqa: E402
    FRAME,
    RANDOM_SPACE,
    InjectionUnavailableError,
    MagentaBackend,
    UnsupportedPlatformError,
    WeightsMissingError,
    check_platform,
    choose_frames_per_block,
    realtime_advice,
)
from livemusic_kernel.replay import render_session  # noqa: E402
from livemusic_kernel.style import lerp  # noqa: E402

RATE = 48000


@pytest.fixture(scope="module")
def tiny() -> MagentaBackend:
    """One tiny model for the module: built and compiled once (about 20 s on two cores).
    One-frame blocks, so the tests do not depend on the speed measured while warming up."""
    return MagentaBackend("tiny", frames_per_block=1)


def render(backend: MagentaBackend, seconds: float, script=None, **engine_options) -> np.ndarray:
    engine = Engine(backend, sink=None, quiet=True, **engine_options)
    engine.set_prompt("main", "minimal techno")
    if script is not None:
        script(engine)
    audio = engine.render(seconds)
    engine.close()
    return audio


def block(backend: MagentaBackend, index: int) -> int:
    """The first sample of engine block ``index``: where fixed-block changes land."""
    return index * backend.block_size


# -- streaming through the engine ---------------------------------------------------------

def test_the_tiny_model_streams_through_the_engine(tiny):
    engine = Engine(tiny, sink=None, quiet=True)
    engine.set_prompt("main", "minimal techno")
    audio = engine.render(4.2)  # the follower estimates every 2 s, from 2 s of audio on
    assert audio.shape == (int(4.2 * RATE), 2) and audio.dtype == np.float32
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01
    assert engine.figures.errors == 0 and engine.block_size == tiny.block_size == tiny.frames_per_block * FRAME
    # The model takes no tempo, so the engine follows the beat it hears.
    assert not tiny.capabilities.tempo_lock and engine.tempo_estimate is not None
    engine.close()


def test_it_is_registered_and_describes_itself(tiny):
    assert "magenta" in available_backends()
    backend = get_backend("magenta", model="tiny", drums=True)
    assert backend.name == "magenta" and backend.style_space == RANDOM_SPACE and backend.drums is True
    info = backend.describe()
    assert info["model"] == "tiny" and info["can_inject"] is True and info["frame_ms"] > 0
    assert info["capabilities"]["notes"] and not info["capabilities"]["audio_injection"]
    assert set(info["capabilities"]["sampling"]) == {"temperature", "top_k", "guidance", "seed"}
    assert backend.realtime_factor > 0 and backend.suggested_lead >= 0.01
    # Its options, with the block size as chosen, rebuild the same backend (from the loaded model).
    again = MagentaBackend(**info["options"])
    assert again.block_size == backend.block_size and again.drums is True and again._runtime is backend._runtime


def test_the_same_controls_give_the_same_music_and_the_seed_changes_it(tiny):
    a, b = render(tiny, 1.0), render(tiny, 1.0)
    assert np.array_equal(a, b)
    other = render(tiny, 1.0, seed=1)
    assert FRAME <= first_difference(a, other) < 2 * FRAME  # the codec's first frame is silent


# -- styles -----------------------------------------------------------------------------

def test_prompts_change_the_music_from_their_block(tiny):
    at = block(tiny, 10)
    plain = render(tiny, 1.0)
    changed = render(tiny, 1.0, lambda e: e.set_prompt("main", "ambient flute", at_sample=at))
    assert at <= first_difference(plain, changed) < at + FRAME


def test_styles_blend_in_musiccoca_space(tiny):
    techno, flute = tiny.embed("minimal techno"), tiny.embed("ambient flute")
    assert techno.space == RANDOM_SPACE and techno.norm() == pytest.approx(1.0, abs=1e-5)
    assert not np.array_equal(tiny.style_tokens(techno), tiny.style_tokens(flute))
    tokens = tiny.style_tokens(techno)
    assert (tokens[:6] >= 0).all() and (tokens[6:] == -1).all()  # the coarsest 6 levels steer
    assert tiny.style_tokens(tiny.default_style()) is None       # no style: the model plays freely

    def two_slots(engine):
        engine.set_prompt("air", "ambient flute", weight=0.5)

    blended = render(tiny, 0.5, two_slots)
    # The engine blends the slots' embeddings, then the backend tokenizes the blend.
    direct = render(tiny, 0.5, lambda e: e.set_style(lerp(techno, flute, 1 / 3)))
    assert np.allclose(blended, direct)


def test_audio_prompts_embed_in_the_same_space(tiny):
    rng = np.random.default_rng(3)
    clip = (0.3 * np.sin(2 * np.pi * 220 * np.arange(RATE * 2) / RATE) + 0.01 * rng.standard_normal(RATE * 2))
    style = tiny.embed(clip.astype(np.float32))
    assert style.space == RANDOM_SPACE and style.norm() == pytest.approx(1.0, abs=1e-5)
    audio = render(tiny, 0.5, lambda e: e.set_prompt("loop", clip.astype(np.float32), 1.0))
    assert np.isfinite(audio).all()


# -- notes, drums, guidance, sampling ----------------------------------------------------------

def test_held_notes_condition_the_model_from_their_block(tiny):
    at = block(tiny, 5)
    plain = render(tiny, 0.8)
    held = render(tiny, 0.8, lambda e: e.note_on(60, at_sample=at))
    assert at <= first_difference(plain, held) < at + FRAME


def test_note_tokens_follow_the_package_engine():
    from livemusic_kernel.models.magenta._conditioning import note_tokens  # imports magenta-rt

    tokens = note_tokens({60, 64})
    assert tokens[60] == tokens[64] == 3 and (np.delete(tokens, [60, 64]) == -1).all()
    onsets = note_tokens({60, 64}, before={60}, onsets=True)
    assert onsets[60] == 1 and onsets[64] == 2              # a continuation and a new onset
    near = note_tokens({60}, unmask_width=2)
    assert list(near[57:64]) == [-1, 0, 0, 3, 0, 0, -1]     # neighbours off, the rest masked


def test_drums_and_cfg_scales_are_conditioning_tokens(tiny):
    base = tiny._frame_tokens(None, frozenset(), frozenset(), 4.0)
    assert len(base) == 144
    drumless = get_backend("magenta", model="tiny", drums=False)
    assert not np.array_equal(drumless._frame_tokens(None, frozenset(), frozenset(), 4.0), base)
    assert render(drumless, 0.3).shape == (int(0.3 * RATE), 2)
    # Guidance is the MusicCoCa CFG scale, discretised by the package's own rule.
    low, high = (tiny._frame_tokens(None, frozenset(), frozenset(), g) for g in (1.0, 6.0))
    assert list(np.flatnonzero(low != high)) == [141]
    assert not np.array_equal(render(tiny, 0.4, guidance=1.0), render(tiny, 0.4, guidance=6.0))


def test_temperature_and_top_k_reach_the_sampler(tiny):
    plain = render(tiny, 0.4)
    assert not np.array_equal(plain, render(tiny, 0.4, temperature=0.3))
    assert not np.array_equal(plain, render(tiny, 0.4, top_k=2))


# -- state --------------------------------------------------------------------------------------

def request(start: int, frames: int, **controls) -> BlockRequest:
    return BlockRequest(start, frames, 0, Controls(**controls))


def test_the_state_is_explicit_and_never_changed_by_a_step(tiny):
    n = tiny.block_size
    state = tiny.initial_state()
    first, after = tiny.step(state, request(0, n))
    again, _ = tiny.step(state, request(0, n))         # the same state, stepped twice
    assert np.array_equal(first, again)
    second, _ = tiny.step(after, request(n, n))
    # Two blocks carried through the state equal one engine-style run of both.
    both, _ = tiny.step(tiny.initial_state(), request(0, 2 * n))
    assert np.array_equal(np.concatenate([first, second]), both)
    assert after.frame == n // FRAME and after.position == n


def test_a_step_must_be_whole_frames(tiny):
    with pytest.raises(ValueError, match="whole 40 ms frames of 1920 samples; asked for 1000"):
        tiny.step(tiny.initial_state(), request(0, 1000))


# -- injection and prefill -----------------------------------------------------------------------

def loop_audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    beat = (np.sin(2 * np.pi * 110 * t) * np.exp(-8 * (t % 0.5)))[:, None] * [1.0, 0.8]
    return (0.4 * beat + 0.02 * rng.standard_normal((len(t), 2))).astype(np.float32)


def run_blocks(backend, state, blocks: int, start: int = 0):
    outputs = []
    for index in range(blocks):
        audio, state = backend.step(state, request(start + index * backend.block_size, backend.block_size))
        outputs.append(audio)
    return np.concatenate(outputs), state


def test_injected_audio_reaches_the_context_not_the_output(tiny):
    warm, state = run_blocks(tiny, tiny.initial_state(), 4)
    plain, _ = run_blocks(tiny, state, 8, start=len(warm))
    at = len(warm) + 2 * FRAME
    injected_state = tiny.inject(state, loop_audio(0.2), start=at)
    injected, after = run_blocks(tiny, injected_state, 8, start=len(warm))
    # Up to the block where the input starts, the output is the model's own: the input
    # is not played, it enters the context, and the frames after it continue from the
    # mix (heard from the input's first block, as the codec decodes with a frame's lookahead).
    assert at - len(warm) <= first_difference(plain, injected) < at - len(warm) + FRAME
    assert after.pending is None and after.encoder is None


def test_injection_placement_errors_and_merging(tiny):
    _, state = run_blocks(tiny, tiny.initial_state(), 2)
    position = state.position
    sound = loop_audio(0.1)
    late = tiny.inject(state, sound, start=position - 1000)          # the past part is dropped
    assert late.pending_start == position and len(late.pending) == len(sound) - 1000
    both = tiny.inject(tiny.inject(state, sound), sound, gain=0.5)    # default start: the next frame
    assert np.allclose(both.pending, 1.5 * sound, atol=1e-6)
    assert tiny.inject(state, sound[:100], start=0) is state           # all in the past: nothing to do
    with pytest.raises(ValueError, match="has not generated a frame yet"):
        tiny.inject(tiny.initial_state(), sound)
    with pytest.raises(ValueError, match="gain is a finite number"):
        tiny.inject(state, sound, gain=float("nan"))
    with pytest.raises(ValueError, match="mono or stereo, got 3 channels"):
        tiny.inject(state, np.zeros((100, 3), np.float32))


def test_prefill_makes_a_clip_the_models_past(tiny):
    state = tiny.initial_state()
    plain, _ = run_blocks(tiny, state, 3)
    filled = tiny.prefill(state, loop_audio(1.0), trim=(2, 2))
    continued, _ = run_blocks(tiny, filled, 3)
    assert first_difference(plain, continued) == 0 and np.isfinite(continued).all()
    with pytest.raises(ValueError, match=r"prefill needs more than trim=\(25, 25\) frames"):
        tiny.prefill(state, loop_audio(1.0))


def test_injection_without_the_codec_encoder_says_how_to_get_it(tiny):
    # Checkpoints from `mrt checkpoints download` leave the encoder out; this
    # copy of the tiny model plays one whose encoder is missing.
    backend = copy.copy(tiny)
    backend._runtime = copy.copy(tiny._runtime)
    backend._runtime.can_encode = False
    assert not backend.can_inject
    with pytest.raises(InjectionUnavailableError, match="mrt models init"):
        backend.inject(tiny.initial_state(), loop_audio(0.1), start=0)
    with pytest.raises(InjectionUnavailableError, match="encoder.safetensors"):
        backend.prefill(tiny.initial_state(), loop_audio(2.0))


# -- replay -------------------------------------------------------------------------------------

def test_a_logged_session_replays_bit_identically(tiny, tmp_path):
    log = tmp_path / "set.jsonl"
    engine = Engine(tiny, sink=None, quiet=True, log=log, seed=5)
    engine.set_prompt("main", "dub techno")
    engine.set_prompt("air", "ambient flute", weight=0.4, at_sample=block(tiny, 6))
    engine.note_on(62, at_sample=block(tiny, 9))
    engine.set(seed=9, guidance=5.5, temperature=1.2, at_sample=block(tiny, 12))
    original = engine.render(1.2)
    engine.close()
    # The header records the backend's options, so replay builds the same tiny model.
    header = json.loads(log.read_text().splitlines()[0])
    assert header["backend_options"]["model"] == "tiny"
    render_session(log, tmp_path / "again.wav")
    import soundfile

    replayed, _ = soundfile.read(tmp_path / "again.wav", dtype="float32", always_2d=True)
    assert np.array_equal(original, replayed)


# -- what goes wrong, and what to do about it ---------------------------------------------------

def test_bad_options_list_the_choices():
    for options, message in (({"model": "mrt3"}, "choose one of: mrt2_small, mrt2_base, tiny"),
                             ({"frames_per_block": 0}, "'auto' or a whole number"),
                             ({"style_levels": 13}, "1 to 12"),
                             ({"cfg_notes": 9.0}, "from -1 to 7"),
                             ({"drums": "yes"}, "True .* False .* None"),
                             ({"note_unmask_width": -1}, "from 0 to 127")):
        with pytest.raises(ValueError, match=message):
            MagentaBackend(**{"model": "tiny", **options})


def test_missing_weights_name_the_download_command_and_the_folder(tmp_path):
    with pytest.raises(WeightsMissingError, match="mrt checkpoints download mrt2_small") as caught:
        MagentaBackend("mrt2_small", magenta_home=tmp_path)
    home = tmp_path / "magenta-rt-v2"
    assert str(home / "checkpoints" / "mrt2_small.safetensors") in str(caught.value)
    (home / "checkpoints").mkdir(parents=True)
    (home / "checkpoints" / "mrt2_base.safetensors").touch()
    with pytest.raises(WeightsMissingError, match="`mrt models init`") as caught:
        MagentaBackend("mrt2_base", magenta_home=tmp_path)
    assert str(home / "resources" / "musiccoca") in str(caught.value) and "MAGENTA_HOME" in str(caught.value)


def test_a_missing_extra_names_it(monkeypatch):
    from livemusic_kernel.models import magenta

    monkeypatch.delattr(magenta, "_runtime", raising=False)
    monkeypatch.delitem(sys.modules, "livemusic_kernel.models.magenta._runtime", raising=False)
    monkeypatch.setitem(sys.modules, "jax", None)  # what Python does with a package that is not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'livemusic-kernel\[magenta\]'"):
        MagentaBackend("tiny")


def test_unsupported_platforms_are_named():
    with pytest.raises(UnsupportedPlatformError, match="not Windows: run livemusic-kernel in WSL2"):
        check_platform("Windows", (3, 12))
    with pytest.raises(UnsupportedPlatformError, match="needs Python 3.11 or newer; this is 3.10"):
        check_platform("Linux", (3, 10))
    check_platform("Darwin", (3, 12))


def test_the_block_size_comes_from_the_measured_speed():
    assert choose_frames_per_block(frame_ms=5.0, overhead_ms=1.0) == 1       # 40 ms blocks
    assert choose_frames_per_block(frame_ms=20.0, overhead_ms=30.0) == 4     # spread the overhead
    assert choose_frames_per_block(frame_ms=60.0, overhead_ms=1.0) == 5      # hopeless: the most frames


def test_real_time_advice_says_when_it_is_too_slow_and_which_lead_to_use():
    assert realtime_advice("mrt2_small", "GPU", frame_ms=10.0, overhead_ms=1.0, frames=1, lead=0.08) is None
    slow = realtime_advice("mrt2_base", "CPU", frame_ms=450.0, overhead_ms=2.0, frames=25, lead=0.08)
    assert "too slow for real time" in slow and "450.0 ms per 40 ms frame on CPU" in slow
    assert "model='mrt2_small'" in slow
    tight = realtime_advice("mrt2_small", "GPU", frame_ms=25.0, overhead_ms=5.0, frames=5, lead=0.08)
    assert "fast enough for real time" in tight and "takes 130 ms" in tight and "lead=0.26)" in tight


def test_checkpoints_load_as_the_package_writes_them(tiny, tmp_path):
    import flax.traverse_util
    import safetensors.flax

    from livemusic_kernel.errors import BackendError
    from livemusic_kernel.models.magenta._runtime import load_params

    params = tiny._runtime.params
    encoder = params["params"]["soundstream"]["encoder"]
    model = {**params["params"], "soundstream": {k: v for k, v in params["params"]["soundstream"].items()
                                                 if k != "encoder"}}

    def save(tree, name):
        flat = flax.traverse_util.flatten_dict(tree)
        safetensors.flax.save_file({"/".join(key): value for key, value in flat.items()}, str(tmp_path / name))
        return tmp_path / name

    # The released checkpoints leave the encoder out; `mrt models init` fetches it as encoder.safetensors.
    loaded = load_params(save({"params": model}, "model.safetensors"),
                         save({"params": {"encoder": encoder}}, "encoder.safetensors"))
    flat, expected = flax.traverse_util.flatten_dict(loaded), flax.traverse_util.flatten_dict(params)
    assert flat.keys() == expected.keys()
    assert all(np.array_equal(flat[key], expected[key]) for key in expected)
    (tmp_path / "broken.safetensors").write_bytes(b"not weights")
    with pytest.raises(BackendError, match="may be incomplete: delete it and download it again"):
        load_params(tmp_path / "broken.safetensors")
