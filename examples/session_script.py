"""A 16-bar piece in four sections: a piano alone, a beat joins, a tempo lift, a solo.

A session script runs with ``engine`` already in its namespace, so the same
file plays live and renders offline, with every change on the same beat:

    lmk render --script examples/session_script.py --out piece.wav
    lmk play --script examples/session_script.py --sink null     # or leave out --sink for the sound card

Offline, the render is as long as the script's waits: 16 bars, 41 s at 90 BPM
rising to 96. Live, the last section keeps playing after the script ends,
until Ctrl-C (or ``--seconds``). Add ``--log piece.jsonl`` to either command
and ``lmk render --replay piece.jsonl --out again.wav`` reproduces the audio bit for bit.
"""

# ruff: noqa: F821  (`engine` is not defined here: `lmk --script` puts it in the namespace)

SECTION = 16  # beats: four bars of 4/4. Waiting in beats keeps the form intact when the tempo moves.
engine.set_bpm(90)

# Bars 1-4: a piano alone, in D minor, so the listener hears where home is.
engine.set_prompt("keys", "sparse piano in D minor")
engine.wait(beats=SECTION)

# Bars 5-8: a lofi hip hop beat joins in a second slot; its weight decides how far
# the blend leans towards it, so it colours the piano rather than replacing it.
engine.set_prompt("beat", "lofi hip hop", weight=0.7)
# Booked now on an absolute beat, so the lift lands on the downbeat of bar 9 however
# late this line runs live; offline it also tells wait() how long the later beats are.
engine.set_bpm(96, at_beat=2 * SECTION)
engine.wait(beats=SECTION)

# Bars 9-12: the beat comes forward and an upright bass warms the bottom.
engine.set_weight("beat", 1.0)
engine.set_prompt("bass", "upright bass", weight=0.4)
engine.wait(beats=SECTION)

# Bars 13-16: a saxophone takes the lead for the ending.
engine.set_prompt("solo", "saxophone", weight=0.6)
engine.wait(beats=SECTION)  # offline, this last wait is what makes the render include bars 13-16
