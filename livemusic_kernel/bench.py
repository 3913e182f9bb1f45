"""Measurements behind ``lmk bench`` and the scripts in ``benchmarks/``.

Each function runs the real engine (a real sink thread, real time) and
returns figures; nothing here asserts a threshold, because these machines
are shared and noisy. The *baseline* configuration is the engine set up the
way chunked live music models run (Magenta RealTime: 2 s chunks, 2 s ready
ahead), so every run compares our settings with that anchor on the same
machine, in the same run.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engine import Engine
from .errors import BackendError
from .metrics import Figures

__all__ = ["CONFIGS", "LatencyResult", "measure_latency", "measure_render_speed", "time_renders",
           "render_cpu", "soak", "rss_mb", "busy_core"]

#: Named engine configurations: our two presets and the chunked baseline.
CONFIGS: dict[str, dict] = {
    "default": {"latency": "default"},
    "low": {"latency": "low"},
    "baseline-2s-chunks": {"block_size": 96000, "lead": 2.0},
}


@dataclass(frozen=True)
class LatencyResult:
    config: str
    figures: Figures

    def row(self) -> str:
        f = self.figures
        lat = f.latency_ms
        return (f"{self.config:<20} {lat.p50:8.1f} {lat.p95:8.1f} {lat.max:8.1f} {lat.count:6d} "
                f"{f.underruns:9d} {f.generation_ms.p95:9.2f} {f.realtime_factor:7.3f}")

    @staticmethod
    def header() -> str:
        return (f"{'config':<20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'events':>6} "
                f"{'underruns':>9} {'gen p95':>9} {'RTF':>7}")


def measure_latency(config: str = "default", seconds: float = 20.0, backend: str = "click",
                    changes_per_second: float = 4.0, seed: int = 1,
                    progress: Callable[[float], None] | None = None) -> LatencyResult:
    """Stream to the null sink for ``seconds`` while posting prompt changes at
    random moments, and return the engine's control-to-audio latency figures."""
    if config not in CONFIGS:
        raise ValueError(f"unknown config {config!r}; choose one of: {', '.join(CONFIGS)}")
    rng = random.Random(seed)
    engine = Engine(backend, sink="null", quiet=True, **CONFIGS[config])
    try:
        engine.set_prompt("main", "minimal techno")
        engine.start()
        began = time.monotonic()
        while (elapsed := time.monotonic() - began) < seconds:
            time.sleep(rng.expovariate(changes_per_second))
            engine.set_prompt("main", f"midi {rng.randint(48, 84)}")
            if progress is not None:
                progress(min(elapsed / seconds, 1.0))
        time.sleep(engine.lead + 2 * engine.block_size / engine.sample_rate)  # let the last change be heard
        engine.stop()
        return LatencyResult(config, engine.figures)
    finally:
        engine.close()


#: What the render-speed child process runs: pin itself to one core before NumPy
#: loads, then time fresh renders (after one warm-up render that pays for imports
#: and first-call costs) and print the wall times as JSON.
_RENDER_SPEED_CHILD = r"""
import json, os, sys
options = json.loads(sys.argv[1])
if options["cpu"] is not None:
    os.sched_setaffinity(0, {options["cpu"]})
from livemusic_kernel.bench import time_renders
walls = time_renders(options["backend"], options["seconds"], options["repeats"], options["prompt"])
cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
print(json.dumps({"walls": walls, "cpus": cpus}))
"""

#: Thread pools that would let one "single-core" render use several cores.
_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")}


def time_renders(backend: str, seconds: float, repeats: int, prompt: str = "minimal techno") -> list[float]:
    """Wall times of ``repeats`` offline renders of ``seconds`` each, every one
    from a fresh engine, after one short warm-up render (in this process)."""
    walls = []
    for run in range(repeats + 1):
        engine = Engine(backend, sink=None, quiet=True)
        engine.set_prompt("main", prompt)
        began = time.perf_counter()
        engine.render(seconds if run else min(seconds, 2.0), keep=False)
        if run:
            walls.append(time.perf_counter() - began)
        engine.close()
    return walls


def render_cpu() -> int | None:
    """The core render-speed runs are pinned to: the last this process may use
    (None where the platform cannot pin)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def measure_render_speed(seconds: float = 30.0, backend: str = "click", *, repeats: int = 5,
                         prompt: str = "minimal techno", pin: bool = True) -> dict:
    """Offline render speed on one core: seconds of audio per second of wall time.

    Runs in a child process pinned to one core (``os.sched_setaffinity``) with
    every thread pool limited to one thread, renders ``repeats`` times and
    returns the median (``times_real_time``, ``wall_s``) and the spread
    (``slowest_times``, ``fastest_times``) with every run's wall time, the core
    asked for (``cpu``) and the cores the child ran on (``child_cpus``).
    """
    from .models import BACKENDS, available_backends

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(available_backends())}")
    if not seconds > 0 or repeats < 1:
        raise ValueError(f"render speed needs seconds > 0 and repeats >= 1, got {seconds!r} and {repeats!r}")
    cpu = render_cpu() if pin else None
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, **_ONE_THREAD,
           "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    options = {"cpu": cpu, "backend": backend, "seconds": seconds, "repeats": repeats, "prompt": prompt}
    child = subprocess.run([sys.executable, "-c", _RENDER_SPEED_CHILD, json.dumps(options)], env=env,
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise BackendError(f"the render-speed run of backend {backend!r} failed:\n{child.stderr.strip()}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    walls = report["walls"]
    speeds = sorted(seconds / wall for wall in walls)
    return {"backend": backend, "audio_s": seconds, "repeats": repeats, "cpu": cpu, "child_cpus": report["cpus"],
            "wall_s": statistics.median(walls), "times_real_time": statistics.median(speeds),
            "slowest_times": speeds[0], "fastest_times": speeds[-1], "walls_s": walls}


def rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def busy_core() -> subprocess.Popen:
    """Another process that keeps one core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def soak(seconds: float, config: str = "default", backend: str = "click", busy: bool = True,
         warmup: float = 10.0, report: Callable[[str], None] = print) -> dict[str, float]:
    """Stream for ``seconds`` with changes every second (and a busy core),
    sampling memory; returns underruns and memory growth after ``warmup``."""
    hog = busy_core() if busy else None
    engine = Engine(backend, sink="null", quiet=True, **CONFIGS[config])
    try:
        engine.set_prompt("main", "minimal techno")
        engine.start()
        rng = random.Random(7)
        began = time.monotonic()
        start_rss = None
        peak_rss = 0.0
        next_report = began + 60
        while (elapsed := time.monotonic() - began) < seconds:
            time.sleep(1.0)
            engine.set_prompt("main", f"midi {rng.randint(48, 84)}")
            engine.set(temperature=round(rng.uniform(0.5, 1.5), 2))
            if start_rss is None and elapsed >= warmup:
                start_rss = rss_mb()
            if start_rss is not None:
                peak_rss = max(peak_rss, rss_mb())
            if time.monotonic() >= next_report:
                next_report += 60
                f = engine.figures
                report(f"  {elapsed / 60:4.1f} min: underruns {f.underruns}, rss {rss_mb():.1f} MB, "
                       f"queue min {f.queue_min_ms:.1f} ms, latency p95 {f.latency_ms.p95:.1f} ms")
        end_rss = rss_mb()
        engine.stop()
        f = engine.figures
        return {"seconds": seconds, "underruns": f.underruns, "underrun_ms": f.underrun_ms,
                "rss_start_mb": start_rss or end_rss, "rss_end_mb": end_rss, "rss_peak_mb": peak_rss,
                "rss_growth_mb": end_rss - (start_rss or end_rss),
                "latency_p95_ms": f.latency_ms.p95, "queue_min_ms": f.queue_min_ms,
                "generation_p95_ms": f.generation_ms.p95, "blocks": f.blocks}
    finally:
        engine.close()
        if hog is not None:
            hog.kill()
            hog.wait()


# -- landing on the beat (the clock issue) --------------------------------------------------

@dataclass(frozen=True)
class TempoPlan:
    """A tempo plan with a closed form, independent of TempoMap: ``bpm`` until
    ``ramp_at`` (a beat), then a linear-in-time glide to ``ramp_to`` over ``ramp_beats``."""

    bpm: float
    ramp_to: float | None = None
    ramp_at: float = 0.0
    ramp_beats: float = 0.0

    def seconds_at(self, beat: float) -> float:
        if self.ramp_to is None or beat <= self.ramp_at:
            return beat * 60 / self.bpm
        start = self.ramp_at * 60 / self.bpm
        duration = 120 * self.ramp_beats / (self.bpm + self.ramp_to)
        if beat >= self.ramp_at + self.ramp_beats:
            return start + duration + (beat - self.ramp_at - self.ramp_beats) * 60 / self.ramp_to
        slope = (self.ramp_to - self.bpm) / duration
        work = (beat - self.ramp_at) * 60
        return start + 2 * work / (self.bpm + (self.bpm ** 2 + 2 * slope * work) ** 0.5)

    def label(self) -> str:
        if self.ramp_to is None:
            return f"{self.bpm:g} BPM"
        return f"{self.bpm:g}->{self.ramp_to:g} BPM ramp"


def schedule_landing_marks(engine: Engine, plan: TempoPlan, beats: int, seed: int = 3) -> list[tuple[str, float]]:
    """Through the clock, on every beat: a cut to silence at a random point in
    the beat and a restore on the next beat. Returns (kind, beat) for each mark."""
    from fractions import Fraction

    from .models.click import ClickBackend

    click = ClickBackend()
    sounding, silent = click.style_for(decay=0.2), click.style_for(decay=0.2, level=0.0)
    rng = random.Random(seed)
    cuts = [Fraction(rng.randint(100, 800), 1000) for _ in range(beats)]
    marks = []
    for k in range(beats):
        marks += [("cut", k + float(cuts[k])), ("restore", k + 1)]
    engine.set_style(sounding)
    if plan.ramp_to is not None:
        engine.set_bpm(plan.ramp_to, at_beat=plan.ramp_at, ramp_beats=plan.ramp_beats)

    def on_beat(beat):
        k = int(beat)
        if k < beats:
            engine.set_style(silent, at_beat=beat + cuts[k])
            engine.set_style(sounding, at_beat=beat + 1)

    engine.clock.every(1, on_beat, start=0)
    return marks


def landing_errors(audio, plan: TempoPlan, marks, rate: int = 48000) -> list[int]:
    """Observed minus expected sample for every mark found in ``audio``."""
    import math

    import numpy as np

    mono = audio[:, 0]
    errors = []
    for kind, beat in marks:
        expected = math.ceil(plan.seconds_at(beat) * rate - 1e-6)
        if expected + rate // 10 >= len(mono):
            break
        window = mono[max(expected - 200, 0):expected + 200]
        offset = max(expected - 200, 0)
        if kind == "cut":  # the first exact zero after sound
            zero = np.flatnonzero((window == 0) & (np.roll(window, 1) != 0))
        else:              # the first sound after silence
            zero = np.flatnonzero((window != 0) & (np.roll(window, 1) == 0))
        zero = zero[zero > 0]
        errors.append(int(offset + zero[0] - expected) if len(zero) else 10**9)
    return errors


# -- following the model's tempo ---------------------------------------------------------------

def drum_loop(bpm: float, seconds: float, seed: int = 0, rate: int = 48000):
    """A synthetic drum loop that no part of the engine made: kick on 1 and 3,
    snare on 2 and 4, closed hats on every eighth, over a little noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = rng.normal(0, 0.003, int(seconds * rate))
    beat = 60 / bpm
    t = np.arange(int(0.25 * rate)) / rate
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    snare = rng.normal(0, 1, len(t)) * np.exp(-t * 25) * 0.6
    hat = rng.normal(0, 1, len(t)) * np.exp(-t * 120) * 0.25
    for eighth in range(int(seconds / beat * 2)):
        at = int(eighth * beat / 2 * rate)
        sounds = [hat] + ([kick] if eighth % 4 == 0 else []) + ([snare] if eighth % 4 == 2 else [])
        for sound in sounds:
            n = min(len(sound), len(out) - at)
            if n > 0:
                out[at:at + n] += sound[:n]
    return out.astype(np.float32)


def follow_estimate(audio, seconds: float = 8.0, rate: int = 48000):
    """Feed ``seconds`` of audio block by block, as the engine does; return
    (refined estimate, plain autocorrelation BPM)."""
    from .follow import TempoFollower

    follower = TempoFollower(rate)
    audio = audio[:int(seconds * rate)]
    for start in range(0, len(audio), 1920):
        follower.feed(audio[start:start + 1920], start)
    envelope = follower._envelope[-min(follower._frames, len(follower._envelope)):]
    return follower.estimate(), follower._coarse_bpm(envelope - envelope.mean())


# -- Ableton Link ------------------------------------------------------------------------------

#: A second Link peer, as its own process: it prints "monotonic-time beat tempo" every 10 ms.
LINK_PEER = r"""
import sys, time, link
session = link.Link(float(sys.argv[1]))
session.enabled = True
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    now = time.monotonic()
    state = session.captureSessionState()
    beat = state.beatAtTime(session.clock().micros(), 4.0)
    print(f"{now:.6f} {beat:.6f} {state.tempo():.4f} {session.numPeers()}", flush=True)
    time.sleep(0.01)
"""


def private_network(command: list[str], name: str | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` in a network namespace of our own, with only a loopback
    that carries multicast: Link discovery then stays on this machine. Needs root."""
    name = name or f"lmk-link-{os.getpid()}"
    setup = [["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"],
             ["ip", "-n", name, "link", "set", "lo", "multicast", "on"],
             ["ip", "-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"]]
    try:
        for step in setup:
            subprocess.run(step, check=True, capture_output=True)
        return subprocess.run(["ip", "netns", "exec", name, *command], capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def link_phase(seconds: float, peer_bpm: float = 100.0, our_bpm: float = 120.0, settle: float = 3.0,
               propose: float | None = None) -> dict:
    """Inside a private network: a Link peer process and our engine on a LinkClock.

    Returns the phase error between our heard beat and the peer's beat
    (modulo the 4-beat quantum) after ``settle`` seconds, the tempi, and,
    with ``propose``, whether the peer adopted the tempo we proposed.
    """
    import tempfile

    import numpy as np

    from .link import LinkClock

    # A file, not a pipe: a pipe nobody reads until the end fills and stalls the peer.
    trace = tempfile.TemporaryFile("w+")
    peer = subprocess.Popen([sys.executable, "-c", LINK_PEER, str(peer_bpm), str(seconds + 3)],
                            stdout=trace, text=True)
    time.sleep(0.5)
    clock = LinkClock(quantum=4)
    engine = Engine("click", sink="null", quiet=True, bpm=our_bpm, clock=clock)
    ours: list[tuple[float, float]] = []
    try:
        engine.start()
        began = time.monotonic()
        proposed = False
        while (now := time.monotonic()) - began < seconds:
            origin = engine.heard_time(0)  # when sample 0 was heard: the fractional sample heard now follows
            if origin is not None:
                ours.append((now, float(engine.tempo.beat_at((now - origin) * engine.sample_rate))))
            if propose is not None and not proposed and now - began > seconds / 2:
                clock.set_tempo(propose)
                proposed = True
            time.sleep(0.01)
        our_tempo, peers, corrections = engine.bpm, clock.peers, clock.corrections
    finally:
        engine.close()
        peer.terminate()
        peer.wait(timeout=10)
        trace.seek(0)
        output = trace.read()
        trace.close()
    rows = np.array([[float(x) for x in line.split()] for line in output.splitlines() if line.strip()])
    times, beats, tempi = rows[:, 0], rows[:, 1], rows[:, 2]
    ours_t, ours_b = np.array(ours).T
    window = (ours_t > ours_t[0] + settle) & (ours_t < times[-1])
    if propose is not None:  # only the steady first half counts for phase: a tempo change takes a lead to reach us
        window &= ours_t < ours_t[0] + seconds / 2
    peer_b = np.interp(ours_t[window], times, beats)
    peer_bpm_now = np.interp(ours_t[window], times, tempi)
    wrapped = (ours_b[window] - peer_b + 2) % 4 - 2
    errors_ms = np.abs(wrapped) * 60 / peer_bpm_now * 1000
    return {"samples": int(window.sum()), "seconds": float(ours_t[window][-1] - ours_t[window][0]),
            "p50_ms": float(np.percentile(errors_ms, 50)),
            "p95_ms": float(np.percentile(errors_ms, 95)), "max_ms": float(errors_ms.max()),
            "peer_tempo_end": float(tempi[-1]), "our_tempo_end": our_tempo, "peers": peers,
            "corrections": corrections}
