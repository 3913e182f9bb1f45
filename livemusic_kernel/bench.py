"""Measurements behind ``lmk bench`` and the scripts in ``benchmarks/``.

Each function runs the real engine (a real sink thread, real time) and
returns figures; nothing here asserts a threshold, because these machines
are shared and noisy. The *baseline* configuration is the engine set up the
way chunked live music models run (Magenta RealTime: 2 s chunks, 2 s ready
ahead), so every run compares our settings with that anchor on the same
machine, in the same run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from .engine import Engine
from .metrics import Figures

__all__ = ["CONFIGS", "LatencyResult", "measure_latency", "measure_render_speed", "soak",
           "rss_mb", "busy_core"]

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


def measure_render_speed(seconds: float = 60.0, backend: str = "click") -> dict[str, float]:
    """Offline render speed: seconds of audio per second of wall time."""
    engine = Engine(backend, sink=None, quiet=True)
    engine.set_prompt("main", "minimal techno")
    began = time.perf_counter()
    engine.render(seconds, keep=False)
    wall = time.perf_counter() - began
    engine.close()
    return {"audio_s": seconds, "wall_s": wall, "times_real_time": seconds / wall}


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
