"""Engine.inject: sources reach the backend's context through the worker, never the output."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _hearing import HearingClick

from livemusic_kernel import (
    ArraySource,
    Engine,
    GeneratorSource,
    InjectionError,
    InjectionHandle,
    PushSource,
)
from livemusic_kernel.models.click import ClickBackend

RATE = 48000


def noise(seconds: float, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((int(seconds * RATE), 2)) * 0.1).astype(np.float32)


def test_an_array_is_heard_at_its_true_time_and_never_played():
    backend, played = HearingClick(), noise(2.0)
    engine = Engine(backend, sink=None, quiet=True)
    plain = Engine(ClickBackend(), sink=None, quiet=True).render(3.0)
    handle = engine.inject(played, loop=False, at_sample=12000)
    assert isinstance(handle, InjectionHandle) and isinstance(handle.source, ArraySource)
    out = engine.render(3.0)
    context = backend.context(3 * RATE)
    assert np.array_equal(context[12000:12000 + len(played)], played)   # sample for sample
    assert not context[:12000].any() and not context[12000 + len(played):].any()
    assert np.array_equal(out, plain)                                    # the output never holds the input
    # It is heard only once a performer could have played it: never ahead of the lead.
    lead = int(engine.lead * RATE)
    assert all(start + len(audio) <= engine.position - lead for start, audio in backend.heard)
    assert handle.finished and handle.received == len(played) and engine.injections == []
    engine.close()


def test_gain_scales_what_is_heard_and_the_controls_schedule_on_the_clock():
    backend = HearingClick()
    engine = Engine(backend, sink=None, quiet=True)
    ones = np.ones((RATE, 2), np.float32)
    engine.inject(ones, at_sample=0)
    engine.set(inject_gain=0.5, at_sample=RATE)
    engine.render(2.5)
    context = backend.context(2 * RATE)
    assert context[RATE // 2, 0] == 1.0
    # Input already collected is handed on at the gain in force when it is handed.
    assert set(np.unique(context[int(1.2 * RATE):, 0])) <= {0.5}
    with pytest.raises(ValueError, match="unknown injection mode 'loop'; choose one of: free, looper"):
        engine.set(inject_mode="loop")
    with pytest.raises(ValueError, match="inject_gain"):
        engine.set(inject_gain=-1)
    engine.close()


def test_a_generator_and_a_function_of_frames_are_sources():
    backend = HearingClick()
    engine = Engine(backend, sink=None, quiet=True)
    chunks = [np.full((1000, 2), k + 1, np.float32) for k in range(3)]
    handle = engine.inject(iter(chunks), at_sample=0)
    assert isinstance(handle.source, GeneratorSource)
    engine.render(1.0)
    assert np.array_equal(backend.context(3000), np.concatenate(chunks))
    assert handle.finished
    ramp = Engine(HearingClick(), sink=None, quiet=True)
    counter = iter(range(10**9))
    ramp.inject(lambda frames: np.full(frames, next(counter), np.float32) if frames else None, at_sample=0)
    ramp.render(1.0)
    assert ramp.backend.context(RATE // 2)[:, 0].any()
    ramp.close()
    engine.close()


def test_stop_ends_a_source_at_its_sample():
    backend = HearingClick()
    engine = Engine(backend, sink=None, quiet=True)
    handle = engine.inject(np.ones((RATE, 1), np.float32), at_sample=0)   # mono heard on both channels
    handle.stop(at_sample=10000)
    engine.render(1.0)
    context = backend.context(RATE)
    assert context[:10000].all() and not context[10000:].any()
    assert handle.finished
    engine.close()


def test_a_model_that_cannot_hear_refuses_injection_with_a_fix():
    engine = Engine(ClickBackend(), sink=None, quiet=True)
    with pytest.raises(InjectionError, match="cannot hear injected audio; backends that can"):
        engine.inject(noise(0.1))
    source = ArraySource(noise(0.1))
    other = Engine(HearingClick(), sink=None, quiet=True)
    other.inject(source)
    with pytest.raises(InjectionError, match="already injected"):
        other.inject(source)
    with pytest.raises(TypeError, match="cannot inject int"):
        other.inject(5)
    other.close()
    engine.close()


def test_audio_pushed_from_another_thread_reaches_a_streaming_engine():
    backend = HearingClick()
    engine = Engine(backend, sink="null", quiet=True).start()
    handle = engine.inject(PushSource("scsynth", channels=2))
    block = np.full((480, 2), 0.25, np.float32)
    taken = []

    def osc_thread():  # as the OSC server's thread pushes what scsynth sends, 10 ms at a time
        began = time.monotonic()
        for k in range(100):
            taken.append(handle.source.push(block))
            time.sleep(max(began + (k + 1) * 0.01 - time.monotonic(), 0))

    thread = threading.Thread(target=osc_thread)
    thread.start()
    thread.join()
    deadline = time.monotonic() + 10
    while handle.received + handle.dropped < 100 * 480 and time.monotonic() < deadline:
        time.sleep(0.02)
    engine.close()
    # Stamped on arrival, the input is placed by the earliest arrivals; while the alignment
    # settles, a packet that would overlap one already placed is dropped (and counted).
    assert all(taken) and handle.received + handle.dropped == 100 * 480 and handle.received > 0.9 * 100 * 480
    with backend.lock:
        heard = sum(len(a) for _, a in backend.heard)
    assert heard > 0 and all(np.all(a == 0.25) for _, a in backend.heard)
    assert handle.finished   # close() closed the source
    assert handle.source.push(block) is False and handle.source.ignored == 480


def test_stamped_pushes_land_on_the_sample_they_name():
    backend = HearingClick()
    engine = Engine(backend, sink=None, quiet=True)
    source = PushSource("browser", channels=1)
    engine.inject(source, at_sample=0)
    source.push(np.ones(4800, np.float32), sample=24000)
    engine.render(1.5)
    context = backend.context(RATE)
    assert not context[:24000].any() and context[24000:28800].all() and not context[28800:].any()
    with pytest.raises(ValueError, match=r"takes \(frames, 1\) audio"):
        source.push(np.ones((10, 2), np.float32))
    engine.close()


def chord_loop(seconds: float, root: int = 2) -> np.ndarray:
    """Sine triads on ``root`` (minor) and its fifth, a bar each at 120 BPM, with a plucked envelope."""
    bar = 2 * RATE
    t = np.arange(bar) / RATE
    envelope = np.exp(-3.0 * (t % 0.5))
    out = []
    for chord_root in (root, root + 7):
        hz = [440.0 * 2 ** ((chord_root + 57 + k - 69) / 12) for k in (0, 3, 7, -12)]
        out.append(sum(np.sin(2 * np.pi * f * t) for f in hz) * envelope * 0.1)
    mono = np.tile(np.concatenate(out), int(np.ceil(seconds * RATE / (2 * bar))))[:int(seconds * RATE)]
    return np.stack([mono, mono], axis=1).astype(np.float32)


def test_a_session_with_injected_input_replays_bit_for_bit(tmp_path):
    from livemusic_kernel import read_wav, render_session
    from livemusic_kernel.injection import input_file_for
    from livemusic_kernel.recorder import WavRecorder

    with WavRecorder(tmp_path / "played.wav", RATE, 2, "float32") as recorder:
        recorder.write(chord_loop(4.0))
    log = tmp_path / "set.jsonl"
    engine = Engine("builtin", sink=None, quiet=True, log=log, record=tmp_path / "set.wav",
                    prompts={"main": "ambient"})
    engine.inject(str(tmp_path / "played.wav"), at_beat=2)
    engine.set(inject_mode="looper", loop_beats=4, at_beat=8)
    engine.ramp("inject_gain", 0.3, beats=4, at_beat=10)
    engine.render(8.0)
    engine.close()
    wav = input_file_for(log)
    assert wav.name == "set.input.wav" and wav.is_file()
    kept, _ = read_wav(wav)
    assert len(kept) > 4 * RATE      # free input, then the previous loop again and again
    render_session(log, tmp_path / "again.wav")
    original, replayed = read_wav(tmp_path / "set.wav")[0], read_wav(tmp_path / "again.wav")[0]
    assert len(original) == len(replayed) and np.array_equal(original, replayed)
    # Without the input the same changes make other music: the input was heard.
    plain = Engine("builtin", sink=None, quiet=True, prompts={"main": "ambient"}).render(8.0)
    assert not np.array_equal(plain, original[:len(plain)])


def test_a_live_session_with_pushed_input_replays_bit_for_bit(tmp_path):
    from livemusic_kernel import read_wav, render_session

    engine = Engine("builtin", sink="null", quiet=True, log=tmp_path / "live.jsonl",
                    record=tmp_path / "live.wav", prompts={"main": "ambient"}).start()
    source = engine.inject(PushSource("line", channels=2)).source
    played = chord_loop(2.0, root=9)
    began = time.monotonic()
    for k, at in enumerate(range(0, len(played), 960)):
        source.push(played[at:at + 960])
        time.sleep(max(began + (k + 1) * 0.02 - time.monotonic(), 0))
    time.sleep(0.5)
    engine.close()
    render_session(tmp_path / "live.jsonl", tmp_path / "again.wav")
    original, replayed = read_wav(tmp_path / "live.wav")[0], read_wav(tmp_path / "again.wav")[0]
    assert (tmp_path / "live.input.wav").is_file()
    assert len(original) == len(replayed) and np.array_equal(original, replayed)


def test_a_replay_needs_the_input_it_logged(tmp_path):
    from livemusic_kernel import SessionError, render_session

    log = tmp_path / "s.jsonl"
    engine = Engine("builtin", sink=None, quiet=True, log=log)
    engine.inject(chord_loop(2.0), at_sample=0)
    engine.render(2.0)
    engine.close()
    wav = tmp_path / "s.input.wav"
    whole = wav.read_bytes()
    wav.write_bytes(whole[:200])
    with pytest.raises(SessionError, match="frames of injected input; the log needs"):
        render_session(log, tmp_path / "o.wav")
    wav.unlink()
    with pytest.raises(SessionError, match="keep the .input.wav beside its log"):
        render_session(log, tmp_path / "o.wav")
    lines = [line for line in log.read_text().splitlines() if '"input_file"' not in line]
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(SessionError, match="names no input WAV"):
        render_session(log, tmp_path / "o.wav")


@pytest.mark.integration
def test_lmk_render_injects_a_file_in_looper_mode(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from livemusic_kernel import read_wav
    from livemusic_kernel.recorder import WavRecorder

    lmk = shutil.which("lmk", path=str(Path(sys.executable).parent)) or shutil.which("lmk")
    with WavRecorder(tmp_path / "in.wav", RATE, 2, "float32") as recorder:
        recorder.write(chord_loop(4.0))
    common = [lmk, "render", "--prompt", "ambient", "--seconds", "6", "--bpm", "120"]

    def run(*args):
        return subprocess.run([*common, *args], cwd=tmp_path, capture_output=True, text=True, timeout=180)

    assert run("--out", "plain.wav").returncode == 0
    result = run("--out", "steered.wav", "--inject", "in.wav", "--inject-mode", "looper", "--inject-gain", "2",
                 "--loop-beats", "4")
    assert result.returncode == 0, result.stderr
    assert "injecting file in.wav (looped) in looper mode" in result.stderr
    plain, steered = read_wav(tmp_path / "plain.wav")[0], read_wav(tmp_path / "steered.wav")[0]
    assert len(plain) == len(steered) == 6 * RATE and not np.array_equal(plain, steered)
    missing = run("--out", "x.wav", "--inject", "nothing.wav")
    assert missing.returncode == 2 and "--inject: no such file: nothing.wav (give an audio file)" in missing.stderr
    bad = run("--out", "x.wav", "--inject", "in.wav", "--inject-gain", "-3")
    assert bad.returncode == 2 and "inject_gain" in bad.stderr
