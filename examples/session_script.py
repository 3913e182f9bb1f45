"""A 16-bar piece for the click model: four sections of four bars, a tempo lift, a second voice.

A session script runs with ``engine`` already in its namespace, so the same
file plays live and renders offline, with every change on the same beat:

    lmk render --script examples/session_script.py --out piece.wav
    lmk play --script examples/session_script.py --sink null     # or leave out --sink for the sound card

Offline, the render is as long as the script's waits: 16 bars, 31 s at the
default 120 BPM. Live, the last section keeps playing after the script ends,
until Ctrl-C (or ``--seconds``). Add ``--log piece.jsonl`` to either command
and ``lmk render --replay piece.jsonl --out again.wav`` reproduces the audio bit for bit.
"""

# ruff: noqa: F821  (`engine` is not defined here: `lmk --script` puts it in the namespace)

SECTION = 16  # beats: four bars of 4/4. Waiting in beats keeps the form intact when the tempo moves.

# Bars 1-4: the root alone, so the listener hears where home is.
engine.set_prompt("root", "C4")
engine.wait(beats=SECTION)

# Bars 5-8: move to the subdominant; the same slot is replaced, so there is still one voice.
engine.set_prompt("root", "F3")
# Booked now on an absolute beat, so the lift lands on the downbeat of bar 9 however
# late this line runs live; offline it also tells wait() how long the later beats are.
engine.set_bpm(128, at_beat=2 * SECTION)
engine.wait(beats=SECTION)

# Bars 9-12: the dominant, with a quiet high voice in a second slot. Its weight
# decides how far the blended click moves towards it, so it colours rather than replaces.
engine.set_prompt("root", "G3")
engine.set_prompt("air", "C6", weight=0.25)
engine.wait(beats=SECTION)

# Bars 13-16: home again, with the high voice brought forward for the ending.
engine.set_prompt("root", "C4")
engine.set_weight("air", 0.6)
engine.wait(beats=SECTION)  # offline, this last wait is what makes the render include bars 13-16
