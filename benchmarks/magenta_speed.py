"""Magenta RT 2 speed on this machine: frames per second and real-time factor, against the click model.

    python benchmarks/magenta_speed.py [--seconds 10] [--architecture] [--architecture-seconds 2]

Every model renders the same prompt offline through the engine
(``Engine(sink=None).render``), so the figures include the engine's own work.
A frame is 40 ms: 25 frames per second is real time, and the real-time factor
(wall time / audio time) must stay below 1 to stream, below about 0.7 to stream
without underruns. Rows:

* ``click``: the click model, the baseline (the engine's cost with a trivial model);
* ``tiny``: Magenta RT 2's classes at toy size with random weights (no download);
* ``mrt2_small``: the released small model, when its weights are in MAGENTA_HOME
  (``mrt checkpoints download mrt2_small`` and ``mrt models init``);
* with ``--architecture``: mrt2_small's architecture with random weights, which
  costs the same arithmetic as the real model: whether this machine can play it
  live, without downloading it.
"""

from __future__ import annotations

import argparse
import time
import warnings

from livemusic_kernel import Engine
from livemusic_kernel.models.magenta import FRAME, MagentaBackend, WeightsMissingError

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=10.0, help="audio rendered per model (default 10)")
parser.add_argument("--architecture", action="store_true",
                    help="also time mrt2_small's architecture with random weights (slow on a CPU)")
parser.add_argument("--architecture-seconds", type=float, default=2.0)
parser.add_argument("--magenta-home", default=None, help="the folder holding magenta-rt-v2/ (default: MAGENTA_HOME)")
args = parser.parse_args()


def timed_render(backend, seconds: float) -> dict:
    engine = Engine(backend, sink=None, quiet=True, follow_tempo=False)
    engine.set_prompt("main", "minimal techno")
    began = time.perf_counter()
    engine.render(seconds)
    wall = time.perf_counter() - began
    engine.close()
    frames = seconds * 48000 / FRAME
    return {"frames_per_s": frames / wall, "rtf": wall / seconds, "wall": wall}


def build(label: str, **options):
    began = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = MagentaBackend(**options)
    for warning in caught:
        print(f"  ({label}) {warning.message}")
    return backend, time.perf_counter() - began


rows = [("click (baseline)", "-", timed_render("click", args.seconds), args.seconds)]
print(f"rendering {args.seconds:g} s per model ...", flush=True)
tiny, tiny_build = build("tiny", model="tiny")
rows.append((f"tiny ({tiny.describe()['parameters'] / 1e6:.1f} M parameters)", f"{tiny_build:.1f}",
             timed_render(tiny, args.seconds), args.seconds))
device = tiny.device
try:
    small, small_build = build("mrt2_small", model="mrt2_small", magenta_home=args.magenta_home)
except WeightsMissingError as error:
    print(f"  mrt2_small skipped: {error}".split(". Download")[0] + ". Download it with `mrt checkpoints "
          "download mrt2_small` and `mrt models init` to time the real model.")
else:
    rows.append(("mrt2_small", f"{small_build:.1f}", timed_render(small, args.seconds), args.seconds))
if args.architecture:
    shape, shape_build = build("mrt2_small architecture", model="mrt2_small", checkpoint="random")
    label = f"mrt2_small architecture ({shape.describe()['parameters'] / 1e6:.0f} M), random"
    rows.append((label, f"{shape_build:.1f}", timed_render(shape, args.architecture_seconds),
                 args.architecture_seconds))

print(f"\nMagenta RT 2 on {device}: 25 frames/s is real time (real-time factor 1)")
print(f"{'model':42} {'build s':>8} {'audio s':>8} {'frames/s':>9} {'RTF':>7}  vs click")
baseline = rows[0][2]["rtf"]
for label, built, result, seconds in rows:
    print(f"{label:42} {built:>8} {seconds:>8g} {result['frames_per_s']:>9.1f} {result['rtf']:>7.3f}  "
          f"{result['rtf'] / baseline:>6.0f}x the time")
