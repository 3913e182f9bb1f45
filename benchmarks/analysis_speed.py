"""Audio analysis speed: seconds to analyse a clip of 48 kHz stereo music, against the first
analysis (commit 0a5a58d: tempo, key, brightness, density, energy, drums and bass only) as the
baseline in the same run. The issue's target: 10 s analysed in 0.3 s or less.

    python benchmarks/analysis_speed.py [--seconds 10] [--repeat 7]

The music is a synthetic drum loop under additive-synth chords (no part of the engine made
it). The baseline is read from git history, so this needs the repository's .git.
"""

import argparse
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

from livemusic_kernel.audio import AudioClip
from livemusic_kernel.bench import drum_loop
from livemusic_kernel.models.builtin.analysis import analyse

BASELINE_COMMIT = "0a5a58d"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=10.0)
parser.add_argument("--repeat", type=int, default=7)
args = parser.parse_args()

rate = 48000
t = np.arange(int(args.seconds * rate)) / rate
chords = sum(0.05 * np.sin(2 * np.pi * f * t) * np.exp(-(t % 2.0)) for f in (261.6, 329.6, 392.0, 65.4))
left = drum_loop(120, args.seconds) + chords
clip = AudioClip.from_array(np.stack([left, 0.9 * left + 0.01 * np.roll(left, 480)], axis=1), rate)


def timed(function) -> float:
    function(clip)  # warm: filter designs and FFT plans are cached
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        function(clip)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def baseline():
    """The first analysis's ``analyse``, loaded from git history."""
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:livemusic_kernel/models/builtin/analysis.py"],
                                cwd=root, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"baseline unavailable ({error}); it needs git and the repository history")
        return None
    module = types.ModuleType("livemusic_kernel.models.builtin._analysis_baseline")
    module.__package__ = "livemusic_kernel.models.builtin"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE_COMMIT}:analysis.py", "exec"), module.__dict__)
    return module.analyse


now = timed(analyse)
print(f"analysis of {args.seconds:g} s of 48 kHz stereo: {now * 1000:.0f} ms "
      f"({args.seconds / now:.0f}x real time; target 300 ms for 10 s)")
old = baseline()
if old is not None:
    then = timed(old)
    print(f"baseline (first analysis, {BASELINE_COMMIT}, 8 dimensions): {then * 1000:.0f} ms; "
          f"now {now / then:.2f}x its time for 15 measured dimensions and the key")
