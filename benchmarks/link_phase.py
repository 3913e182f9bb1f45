"""Two Ableton Link peers on one machine: ours (the engine on a LinkClock) and a
second process. How far apart are their beats, over a minute?

Link discovers peers by multicast on every interface, so this runs inside a
network namespace of its own whose only interface is a loopback that carries
multicast: nothing leaves the machine. Creating it needs root.

    sudo python benchmarks/link_phase.py [--seconds 60]

The peer starts at 100 BPM and ours at 120; ours joins the session, takes its
tempo, aligns its phase (4-beat quantum), then proposes 110 BPM halfway through.
The phase error counts the steady first half; the baseline in the same run is
the error before our clock synchronised (the two start independently).
"""

import argparse
import json
import os
import shutil
import sys

from livemusic_kernel.bench import link_phase, private_network

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=60.0, help="how long the peers play (default: 60)")
parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
args = parser.parse_args()

if args.inner:
    # The steady first half: 3 s to join, then the measured `seconds`; ours proposes 110 BPM after it.
    print(json.dumps(link_phase(2 * (args.seconds + 3), propose=110.0)))
    sys.exit(0)

if os.geteuid() != 0 or shutil.which("ip") is None:
    sys.exit("link_phase: needs root and iproute2 to make a private network (Link multicasts on every interface)")

result = private_network([sys.executable, __file__, "--inner", "--seconds", str(args.seconds)])
if result.returncode != 0:
    sys.exit(f"link_phase: the run failed:\n{result.stderr}")
figures = json.loads(result.stdout.strip().splitlines()[-1])
print(f"Link phase error, ours vs a second peer, {figures['samples']} readings over {figures['seconds']:.1f} s "
      f"(every 10 ms, after 3 s to join):")
print(f"  p50 {figures['p50_ms']:.3f} ms  p95 {figures['p95_ms']:.3f} ms  max {figures['max_ms']:.3f} ms "
      f"(target: within 5 ms)")
print(f"  tempo: peer ended at {figures['peer_tempo_end']:.2f} BPM after our proposal of 110, ours at "
      f"{figures['our_tempo_end']:.2f}; {figures['corrections']} re-alignments; peers seen: {figures['peers']}")
print("  baseline: before joining, ours ran at 120 BPM against the session's 100: no alignment at all")
