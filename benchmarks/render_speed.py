"""Offline render speed, against real time as the baseline (1x).

    python benchmarks/render_speed.py [--seconds 300] [--backend click]
"""

import argparse

from livemusic_kernel.bench import measure_render_speed

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=300.0)
parser.add_argument("--backend", default="click")
args = parser.parse_args()
result = measure_render_speed(args.seconds, args.backend)
print(f"rendered {result['audio_s']:.0f} s of audio in {result['wall_s']:.2f} s: "
      f"{result['times_real_time']:.0f}x real time (baseline: 1x, what live playback needs)")
