"""Where scheduled changes land: offline and live, at several tempos and through a ramp.

Every beat, a clock callback schedules a cut to silence at a random point in
the beat and a restore on the next beat; the click model makes both visible
to the sample. Each landing is compared with a closed-form beat time computed
independently of the engine's tempo map. Baseline in the same run: the block
length, the resolution an engine without sample-accurate splitting would have.

    python benchmarks/clock_accuracy.py [--beats 300] [--live-seconds 45]
"""

import argparse
import time

import numpy as np

from livemusic_kernel import Engine, read_wav
from livemusic_kernel.bench import TempoPlan, landing_errors, schedule_landing_marks

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--beats", type=int, default=300, help="beats per tempo offline (2 events each)")
parser.add_argument("--live-seconds", type=float, default=45.0, help="seconds per tempo live; 0 skips live")
args = parser.parse_args()

PLANS = [TempoPlan(90), TempoPlan(120), TempoPlan(173.3), TempoPlan(100, 160, 8, 32)]


def summary(label, errors, block):
    errors = np.array(errors)
    found = errors[errors < 10**8]
    worst = np.abs(found).max() if len(found) else float("nan")
    within1 = np.mean(np.abs(found) <= 1) * 100 if len(found) else 0
    inblock = np.mean(np.abs(found) <= block) * 100 if len(found) else 0
    print(f"{label:<32} {len(errors):6d} {len(errors) - len(found):7d} {worst:9} {within1:8.1f}% {inblock:9.1f}%")
    return len(found)


header = f"{'run':<32} {'events':>6} {'missed':>7} {'max |err|':>9} {'<= 1 smp':>9} {'<= block':>10}"
print("offline (OfflineClock, lmk render's path), errors in samples")
print(header)
total = 0
for plan in PLANS:
    engine = Engine("click", sink=None, quiet=True, bpm=plan.bpm)
    marks = schedule_landing_marks(engine, plan, args.beats)
    audio = engine.render(plan.seconds_at(args.beats + 1) + 0.5)
    total += summary(plan.label(), landing_errors(audio, plan, marks), engine.block_size)
print(f"offline events measured: {total}; baseline resolution without splitting: one block = 1920 samples (40 ms)")

if args.live_seconds > 0:
    print("\nlive (LiveClock, paced null sink, callbacks on the scheduler thread)")
    print(header)
    total = 0
    for plan in PLANS:
        path = "/tmp/lmk-clock-accuracy.wav"
        engine = Engine("click", sink="null", quiet=True, bpm=plan.bpm, record=path)
        beats = int(args.live_seconds * plan.bpm / 60)
        marks = schedule_landing_marks(engine, plan, beats)
        engine.start()
        time.sleep(args.live_seconds)
        engine.close()
        audio, _ = read_wav(path)
        total += summary(plan.label() + f" (late {engine.figures.late_events})",
                         landing_errors(audio, plan, marks), engine.block_size)
    print(f"live events measured: {total}")
