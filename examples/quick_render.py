"""Render 8 seconds from two blended prompts with the Python API; no sound card needed.

    python examples/quick_render.py              # writes quick_render.wav here
    python examples/quick_render.py out.wav      # or wherever you say
"""

import sys
from pathlib import Path

from livemusic_kernel import Engine

SECONDS = 8.0


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path("quick_render.wav")

    # sink=None makes an offline engine: render() runs faster than real time and,
    # with the same prompts and seed, gives the same samples on every run.
    # record= streams each rendered block to the WAV file, which stays valid even
    # if the process dies half-way.
    with Engine(bpm=122, sink=None, record=out) as engine:
        # Two slots blend by weight, so one control (a weight) moves the sound
        # between two prompts without replacing either.
        engine.set_prompt("groove", "deep house in A minor", weight=0.8)
        engine.set_prompt("colour", "flute", weight=0.2)
        # Changes booked on beats land on the exact sample, before rendering starts.
        engine.set_weight("colour", 0.6, at_beat=8)
        engine.set_weight("groove", 0.5, at_beat=12)

        audio = engine.render(SECONDS)
        print(f"wrote {out}: {len(audio) / engine.sample_rate:g} s, "
              f"{engine.sample_rate} Hz, {engine.channels} channels, peak {abs(audio).max():.3f}")
        print(engine.figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
