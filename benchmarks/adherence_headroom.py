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

    python benchmarks/adherence_headroom.py [--seconds 10] [--prompts 97]
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
args = parser.parse_args()

backend = BuiltinBackend()
prompts = BUILTIN_PROMPTS.adherence[:args.prompts]
neutral = backend.default_style().vector[_COMPARED_INDEX]
asked, heard = [], []
began = time.monotonic()
for done, prompt in enumerate(prompts, 1):
    asked.append(backend.embed(prompt).vector[_COMPARED_INDEX])
    audio = render(backend, prompt, args.seconds, seed=0)
    heard.append(backend.embed(AudioClip.from_array(audio, backend.sample_rate)).vector[_COMPARED_INDEX])
    print(f"\rrendered {done}/{len(prompts)} ({time.monotonic() - began:.0f} s)", end="", file=sys.stderr)
print(file=sys.stderr)
asked, heard = np.array(asked), np.array(heard)


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


print(f"{'dimension':<12} {'corr':>6} {'heard-asked':>12}")
for k, name in enumerate(COMPARED):
    a, h = asked[:, k], heard[:, k]
    corr = np.corrcoef(a, h)[0, 1] if a.std() > 0 and h.std() > 0 else float("nan")
    print(f"{name:<12} {corr:+6.2f} {np.mean(h - a):+12.3f}")

errors = heard - asked
rng = np.random.default_rng(0)
print(f"\nadherence (nearest prompt is the own one), {len(prompts)} prompts:")
rows = [("measured", accuracy(heard))]
for scale in (1.0, 0.5):
    noisy = asked + rng.standard_normal(asked.shape) * errors.std(axis=0) * scale
    rows.append((f"baseline: asked + random errors, {scale:g}x their size", accuracy(noisy)))
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
