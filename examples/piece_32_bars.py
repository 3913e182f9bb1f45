"""A 32-bar piece scheduled on the clock: a prompt sequence, a tempo ramp and a stepped morph.

A session script: ``engine`` is in scope. Render it offline, or play it live:

    lmk render --script examples/piece_32_bars.py --out piece32.wav
    lmk play --script examples/piece_32_bars.py --sink null

Everything below is booked on beats before a note sounds, so each change lands on
the exact sample of its beat, live as well as offline.
"""

# ruff: noqa: F821  (`engine` is not defined here: `lmk --script` puts it in the namespace)

clock = engine.clock
BAR = 4  # beats: 4/4 throughout

# Bars 1-16: deep house that gains an instrument every four bars. Each change is a
# two-beat morph rather than a jump, so the arrangement slides into the next one.
sections = ["deep house in A minor", "deep house with rhodes in A minor",
            "deep house with strings in A minor", "deep house with rhodes and strings in A minor"]
chords = clock.sequence(sections, every="4M", slot="main", morph=2)
clock.at(chords.cancel, bar=16)  # the sequence stops where the second half begins

# Bars 9-16: a flute fades in over two bars, on top of the loop.
engine.set_prompt("air", "flute", weight=0.0)
engine.ramp("weight:air", 0.4, beats=2 * BAR, at_beat=8 * BAR)

# Bars 17-24: the tempo lifts from 120 to 128 BPM over eight bars (beats stay exact).
engine.set_prompt("main", "deep house with rhodes and strings in A minor", at_beat=16 * BAR)
clock.set_tempo(128, at_beat=16 * BAR, ramp_beats=8 * BAR)

# Bars 25-32: the papers' prompt-transition protocol, six equal steps from where the
# style is to techno with a synth lead, landing on the downbeats of bars 25, 26, ...
engine.morph({"main": "techno in A minor", "air": ("synth lead", 0.6)}, beats=6 * BAR, steps=6,
             at_beat=24 * BAR)

engine.wait(beats=32 * BAR)  # offline, the render ends after bar 32
