"""Long streaming run: underruns and memory growth while another process keeps a core busy.

    python benchmarks/soak.py [--minutes 10] [--config default] [--no-busy]

The baseline in the same run is the process's own memory after a warm-up:
growth is measured against it. Prints a line a minute and a summary.
"""

import argparse
import json

from livemusic_kernel.bench import CONFIGS, soak

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--minutes", type=float, default=10.0)
parser.add_argument("--config", default="default", choices=sorted(CONFIGS))
parser.add_argument("--backend", default="click")
parser.add_argument("--no-busy", action="store_true", help="do not load a core with another process")
args = parser.parse_args()

print(f"soak: {args.minutes:g} min, config {args.config}, backend {args.backend}, "
      f"{'one core kept busy by another process' if not args.no_busy else 'idle machine'}", flush=True)
result = soak(args.minutes * 60, args.config, args.backend, busy=not args.no_busy,
              report=lambda line: print(line, flush=True))
print(json.dumps(result, indent=2))
print(f"underruns: {result['underruns']}  memory growth after warm-up: {result['rss_growth_mb']:.2f} MB "
      f"(start {result['rss_start_mb']:.1f} MB, end {result['rss_end_mb']:.1f} MB)")
