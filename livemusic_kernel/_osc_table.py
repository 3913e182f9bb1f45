"""The OSC dispatcher table. Generated from osc/address_space.json by
scripts/generate_osc.py: edit the JSON, not this file."""

from ._osc_spec import Address, Arg

ADDRESSES: tuple[Address, ...] = (
    Address('/lmk/play', (), 'play', False),
    Address('/lmk/stop', (), 'stop', False),
    Address('/lmk/reset', (), 'reset', True),
    Address('/lmk/prompt', (Arg('slot', 's'), Arg('text', 's'), Arg('weight', 'f', 1.0)), 'prompt', True),
    Address('/lmk/prompt/audio', (Arg('slot', 's'), Arg('path', 's'), Arg('weight', 'f', 1.0)), 'prompt_audio', True),
    Address('/lmk/weight', (Arg('slot', 's'), Arg('weight', 'f')), 'weight', True),
    Address('/lmk/clear', (Arg('slot', 's'),), 'clear', True),
    Address('/lmk/blend', (Arg('text', 's'), Arg('weight', 'f'), Arg('more', '*')), 'blend', True),
    Address('/lmk/morph', (Arg('slot', 's'), Arg('text', 's'), Arg('beats', 'f'), Arg('curve', 's', 'linear'), Arg('steps', 'i', 0)), 'morph', True),
    Address('/lmk/bpm', (Arg('bpm', 'f'), Arg('ramp_beats', 'f', 0.0)), 'bpm', True),
    Address('/lmk/meter', (Arg('beats_per_bar', 'i'),), 'meter', True),
    Address('/lmk/link', (Arg('enabled', 'i'),), 'link', False),
    Address('/lmk/temperature', (Arg('value', 'f'),), 'temperature', True),
    Address('/lmk/top_k', (Arg('value', 'i'),), 'top_k', True),
    Address('/lmk/guidance', (Arg('value', 'f'),), 'guidance', True),
    Address('/lmk/seed', (Arg('value', 'i'),), 'seed', True),
    Address('/lmk/note/on', (Arg('note', 'i'),), 'note_on', True),
    Address('/lmk/note/off', (Arg('note', 'i'),), 'note_off', True),
    Address('/lmk/notes/off', (), 'notes_off', True),
    Address('/lmk/query/state', (), 'query_state', False),
    Address('/lmk/query/slots', (), 'query_slots', False),
    Address('/lmk/query/clock', (), 'query_clock', False),
    Address('/lmk/query/figures', (), 'query_figures', False),
    Address('/lmk/query/link', (), 'query_link', False),
    Address('/lmk/subscribe', (Arg('port', 'i'), Arg('host', 's', '127.0.0.1')), 'subscribe', False),
    Address('/lmk/unsubscribe', (Arg('port', 'i'), Arg('host', 's', '127.0.0.1')), 'unsubscribe', False),
    Address('/lmk/sc/audio', (Arg('port', 'i'), Arg('buffer', 'i'), Arg('phase_bus', 'i'), Arg('node', 'i'), Arg('host', 's', '127.0.0.1'), Arg('delay', 'f', 0.05)), 'sc_audio', False),
    Address('/lmk/sc/audio/stop', (), 'sc_audio_stop', False),
    Address('/lmk/sc/inject', (Arg('buffer', 'i'),), 'sc_inject', False),
    Address('/lmk/sc/inject/stop', (), 'sc_inject_stop', False),
    Address('/lmk/tidal', (Arg('pairs', '*'),), 'tidal', True),
)
