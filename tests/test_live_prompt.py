"""The live audio prompt: a slot that re-embeds the last seconds of injected input."""

import time

import numpy as np
import pytest

from livemusic_kernel import AudioClip, Engine, LivePrompt, PushSource, read_wav, render_session
from livemusic_kernel.models.builtin.space import index

RATE = 48000


def pulses(seconds: float, per_second: float, hz: float = 880.0) -> np.ndarray:
    """Short tone bursts: a denser input embeds as a denser style."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.exp(-40.0 * (t % (1.0 / per_second)))
    mono = (np.sin(2 * np.pi * hz * t) * envelope * 0.3).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def test_the_slot_holds_the_embedding_of_the_last_seconds_of_input(tmp_path):
    played = pulses(12.0, 2.0)
    engine = Engine("builtin", sink=None, quiet=True, prompts={"main": "ambient"}, log=tmp_path / "s.jsonl",
                    record=tmp_path / "s.wav")
    engine.inject(played, loop=False, at_sample=0)
    live = engine.live_prompt("heard", seconds=4, every=2, weight=0.5)
    assert isinstance(live, LivePrompt)
    engine.render(10.0)
    assert live.embeddings >= 3 and live.last_window_end % (2 * RATE) == 0
    end = live.last_window_end
    expected = engine.embed(AudioClip.from_array(played[end - 4 * RATE:end], RATE))
    slot = engine.slots["heard"]
    assert slot.weight == 0.5 and np.array_equal(slot.style.vector, expected.vector)
    engine.close()
    # The embeddings are logged styles: a replay plays them without embedding anything.
    render_session(tmp_path / "s.jsonl", tmp_path / "again.wav")
    assert np.array_equal(read_wav(tmp_path / "s.wav")[0], read_wav(tmp_path / "again.wav")[0])


def test_the_style_follows_what_is_played():
    engine = Engine("builtin", sink=None, quiet=True)
    engine.inject(np.concatenate([pulses(8.0, 1.0), pulses(8.0, 8.0)]), loop=False, at_sample=0)
    live = engine.live_prompt("heard", seconds=4, every=4)
    density = index("density")
    seen = []
    for _ in range(8):
        engine.render(2.0)
        if "heard" in engine.slots:
            seen.append(float(engine.slots["heard"].style.vector[density]))
    assert seen[-1] > seen[0]          # the sparse pulses, then the dense ones
    live.stop()
    count = live.embeddings
    engine.render(6.0)
    assert live.embeddings == count    # stopped: the slot keeps its last style
    engine.close()


def test_silence_leaves_the_slot_as_it_was_and_bad_arguments_say_what_is_valid():
    engine = Engine("builtin", sink=None, quiet=True)
    engine.inject(np.zeros((RATE, 2), np.float32), at_sample=0)
    live = engine.live_prompt("heard", seconds=1, every=1)
    engine.render(4.0)
    assert live.embeddings == 0 and live.skipped > 0 and "heard" not in engine.slots
    with pytest.raises(ValueError, match="from 0.5 to 60 seconds"):
        engine.live_prompt("x", seconds=0.1)
    with pytest.raises(ValueError, match="from 0.25 to 600 seconds"):
        engine.live_prompt("x", every=0)
    with pytest.raises(ValueError, match="a weight is"):
        engine.live_prompt("x", weight=-1)
    engine.close()


def test_live_the_embedding_runs_off_the_worker_and_lands():
    engine = Engine("builtin", sink="null", quiet=True).start()
    source = engine.inject(PushSource("line", channels=2)).source
    live = engine.live_prompt("heard", seconds=1, every=0.5)
    played = pulses(2.5, 4.0)
    began = time.monotonic()
    for k, at in enumerate(range(0, len(played), 960)):
        source.push(played[at:at + 960])
        time.sleep(max(began + (k + 1) * 0.02 - time.monotonic(), 0))
    deadline = time.monotonic() + 10
    while "heard" not in engine.slots and time.monotonic() < deadline:
        time.sleep(0.05)
    engine.close()
    assert live.embeddings >= 1 and "heard" in engine.slots
    assert live._thread is None   # close() stopped its thread
