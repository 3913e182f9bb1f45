"""Scheduled-event load: 1,000 clock events per second for a minute, and what it costs.

A clock callback fires every 2 ms of music (1/250 beat at 120 BPM) and posts a
change for its beat; the click model splits its blocks at every one. Baseline
in the same run: the same stream with no events.

    python benchmarks/event_load.py [--seconds 60] [--rate 1000]
"""

import argparse
import time
from fractions import Fraction

from livemusic_kernel import Engine

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=60.0)
parser.add_argument("--rate", type=int, default=1000, help="events per second (default: 1000)")
args = parser.parse_args()


def run(rate: int):
    engine = Engine("click", sink="null", quiet=True, bpm=120)
    engine.set_prompt("main", "C4")
    if rate:
        period = Fraction(2, rate)  # beats: 2 beats a second at 120 BPM
        values = [round(0.8 + 0.01 * (k % 50), 2) for k in range(50)]
        counter = iter(range(10**9))
        engine.clock.every(period, lambda: engine.set(temperature=values[next(counter) % 50]), start=1)
    engine.start()
    time.sleep(args.seconds)
    engine.stop()
    figures = engine.figures
    engine.close()
    return figures


print(f"{args.seconds:g} s each, click model, null sink, default latency")
print(f"{'events/s':>9} {'applied':>8} {'late':>6} {'underruns':>9} {'gen p95 ms':>10} {'RTF':>6} {'queue min ms':>12}")
for rate in (0, args.rate):
    f = run(rate)
    print(f"{rate:9d} {f.events:8d} {f.late_events:6d} {f.underruns:9d} {f.generation_ms.p95:10.2f} "
          f"{f.realtime_factor:6.3f} {f.queue_min_ms:12.1f}")
