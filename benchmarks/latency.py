"""Control-to-audio latency and underruns, streaming to the paced null sink.

Compares our presets ("default", "low") with the chunked baseline the way
Magenta RealTime runs (2 s chunks, 2 s ready ahead), in the same run.

    python benchmarks/latency.py [--seconds 60] [--backend click]
"""

import argparse
import json

from livemusic_kernel.bench import CONFIGS, LatencyResult, measure_latency

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=60.0, help="seconds per configuration (default: 60)")
parser.add_argument("--backend", default="click")
parser.add_argument("--json", action="store_true")
args = parser.parse_args()

results = [measure_latency(config, args.seconds, args.backend) for config in CONFIGS]
if args.json:
    print(json.dumps({r.config: r.figures.to_dict() for r in results}))
else:
    print(f"control-to-audio latency: backend {args.backend}, null sink, {args.seconds:g} s per config, "
          f"~4 prompt changes per second at random moments")
    print(LatencyResult.header())
    for result in results:
        print(result.row())
    base = results[-1].figures.latency_ms.p95
    for result in results[:-1]:
        print(f"{result.config}: p95 {result.figures.latency_ms.p95:.1f} ms, "
              f"{base / result.figures.latency_ms.p95:.0f}x lower than the baseline's {base:.0f} ms")
