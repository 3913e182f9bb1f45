"""Engine.inject: sources reach the backend's context through the worker, never the output."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

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


class HearingClick(ClickBackend):
    """The click model with a context hook that keeps what it hears (a seam of our own): the
    engine's side of injection, tested without a model's musical answer."""

    def __init__(self):
        self.heard: list[tuple[int, np.ndarray]] = []
        self.lock = threading.Lock()

    def hear(self, state, audio, start):
        with self.lock:
            self.heard.append((start, np.array(audio)))
        return state

    def context(self, length: int) -> np.ndarray:
        """What it heard, laid out at the samples it was placed on."""
        out = np.zeros((length, 2), np.float32)
        with self.lock:
            for start, audio in self.heard:
                end = min(start + len(audio), length)
                if end > start:
                    out[start:end] += audio[:end - start]
        return out


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
