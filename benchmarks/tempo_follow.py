"""Tempo following: the estimate after 8 s of audio at 90, 120 and 150 BPM.

Sources: the click model, a synthetic drum loop, and every other registered
backend that can take a tempo (rendered at that tempo, then fed to the
follower as if it had no tempo lock). Baseline in the same run: the plain
autocorrelation peak (the follower's first stage alone).

    python benchmarks/tempo_follow.py [--seconds 8]
"""

import argparse

from livemusic_kernel import Engine, available_backends
from livemusic_kernel.bench import drum_loop, follow_estimate
from livemusic_kernel.models import backend_class

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=8.0)
args = parser.parse_args()

sources = {"drum loop": lambda bpm: drum_loop(bpm, args.seconds)}
for name in available_backends():
    if backend_class(name).capabilities.tempo_lock:
        sources[name] = lambda bpm, name=name: Engine(name, sink=None, quiet=True, bpm=bpm,
                                                      prompts={"p": "minimal techno"}).render(args.seconds)

print(f"estimate after {args.seconds:g} s of audio")
print(f"{'source':<12} {'true':>6} {'estimate':>9} {'error':>7} {'confidence':>10} {'baseline':>9} {'error':>7}")
worst = 0.0
for source, make in sources.items():
    for bpm in (90, 120, 150):
        estimate, plain = follow_estimate(make(bpm), args.seconds)
        error = abs(estimate.bpm - bpm)
        worst = max(worst, error)
        print(f"{source:<12} {bpm:6d} {estimate.bpm:9.2f} {error:7.2f} {estimate.confidence:10.2f} "
              f"{plain:9.2f} {abs(plain - bpm):7.2f}")
print(f"worst error: {worst:.2f} BPM (target: within 1 BPM after 8 s)")
