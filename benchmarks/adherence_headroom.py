"""Where the builtin model's adherence is lost: the generator, the analysis, or the space.

Renders each of ``lmk eval``'s adherence prompts as the evaluation does (10 s at
the prompt's own tempo, seed 0), embeds the output with the audio analysis, and
prints, over the dimensions ``Backend.similarity`` compares:

* per dimension, how well what was heard follows what was asked (the
  correlation of the two over the prompts) and their mean difference;
* the adherence figure itself, against what it would be if the heard style
  were the asked one plus errors of the same size drawn at random
  (independent errors are the baseline: the measured ones are not), and if
  every dimension a prompt leaves neutral were heard neutral;
* the prompts whose asked styles are nearly parallel (cosine above 0.9): no
  analysis can tell those apart on these dimensions.

With ``--seeds N`` (N > 1) each prompt is also rendered with seeds 1 to N-1,
and each dimension's spread between seeds is printed beside its error: an
error much larger than the spread is the same on every seed (systematic: a
better generator or analysis removes it, more renders do not), which the
figure for the heard style averaged over the seeds confirms.

    python benchmarks/adherence_headroom.py [--seconds 10] [--prompts 97] [--seeds 1]
"""

import argparse
import sys
import time

import numpy as np

from livemusic_kernel.audio import AudioClip
from livemusic_kernel.evaluation.figures import render
from livemusic_kernel.evaluation.prompts import BUILTIN_PROMPTS
from livemusic_kernel.models.builtin.backend import _COMPARED_INDEX, COMPARED, BuiltinBackend

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seconds", type=float, default=BUILTIN_PROMPTS.adherence_seconds)
parser.add_argument("--prompts", type=int, default=len(BUILTIN_PROMPTS.adherence),
                    help="the first N of the evaluation's prompts (default: all)")
parser.add_argument("--seeds", type=int, default=1,
                    help="render each prompt with this many seeds, to tell seed noise from systematic errors")
args = parser.parse_args()
if args.seeds < 1:
    parser.error(f"--seeds must be at least 1, got {args.seeds}")

backend = BuiltinBackend()
prompts = BUILTIN_PROMPTS.adherence[:args.prompts]
neutral = backend.default_style().vector[_COMPARED_INDEX]
asked, by_seed = [], []
began = time.monotonic()
for done, prompt in enumerate(prompts, 1):
    asked.append(backend.embed(prompt).vector[_COMPARED_INDEX])
    by_seed.append([backend.embed(AudioClip.from_array(render(backend, prompt, args.seconds, seed=seed),
                                                       backend.sample_rate)).vector[_COMPARED_INDEX]
                    for seed in range(args.seeds)])
    print(f"\rrendered {done}/{len(prompts)} ({time.monotonic() - began:.0f} s)", end="", file=sys.stderr)
print(file=sys.stderr)
asked, by_seed = np.array(asked), np.array(by_seed)   # (prompts, dims), (prompts, seeds, dims)
heard = by_seed[:, 0]                                  # seed 0, as lmk eval renders


def accuracy(outputs: np.ndarray) -> float:
    """Adherence's nearest-prompt share, with Backend.similarity's cosine of departures."""
    x = outputs - neutral
    y = asked - neutral
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    similarity = x @ y.T
    own = np.diag(similarity)
    others = similarity + np.diag(np.full(len(own), -np.inf))
    return float(np.mean(own > others.max(axis=1)))


seeded = args.seeds > 1
header = f"{'dimension':<12} {'corr':>6} {'heard-asked':>12}"
print(header + (f" {'error rms':>10} {'seed spread':>12}" if seeded else ""))
for k, name in enumerate(COMPARED):
    a, h = asked[:, k], heard[:, k]
    corr = np.corrcoef(a, h)[0, 1] if a.std() > 0 and h.std() > 0 else float("nan")
    row = f"{name:<12} {corr:+6.2f} {np.mean(h - a):+12.3f}"
    if seeded:  # the error on seed 0, against how far the seeds' hearings spread around their mean
        row += f" {np.sqrt(np.mean((h - a) ** 2)):10.3f} {np.mean(by_seed[:, :, k].std(axis=1)):12.3f}"
    print(row)

errors = heard - asked
rng = np.random.default_rng(0)
print(f"\nadherence (nearest prompt is the own one), {len(prompts)} prompts:")
rows = [("measured", accuracy(heard))]
for scale in (1.0, 0.5):
    noisy = asked + rng.standard_normal(asked.shape) * errors.std(axis=0) * scale
    rows.append((f"baseline: asked + random errors, {scale:g}x their size", accuracy(noisy)))
if seeded:
    rows.append((f"the heard style averaged over {args.seeds} seeds", accuracy(by_seed.mean(axis=1))))
rows.append(("if what a prompt leaves neutral were heard neutral",
             accuracy(np.where(np.isclose(asked, neutral), neutral, heard))))
rows.append(("if heard were asked (the space's own ceiling)", accuracy(asked)))
for label, share in rows:
    print(f"  {label:<52} {share:5.0%}")

y = asked - neutral
y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
twins = y @ y.T
np.fill_diagonal(twins, -1.0)
close = [(prompts[i], prompts[j], twins[i, j]) for i in range(len(prompts)) for j in range(i + 1, len(prompts))
         if twins[i, j] > 0.9]
print(f"\n{len(close)} pairs of prompts asked nearly alike (cosine > 0.9) on these dimensions:")
for a, b, c in sorted(close, key=lambda t: -t[2])[:12]:
    print(f"  {a} / {b}: {c:.2f}")
