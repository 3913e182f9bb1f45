"""The Timeline: scheduled changes, morphs and ramps (pending and in progress) and clock callbacks,
at their beats, with words a performer reads at a glance."""

from __future__ import annotations

import _widgets
import pytest
from _widgets import ok, refused, wait_until

from livemusic_kernel.widgets import Timeline
from livemusic_kernel.widgets.timeline import describe_callback, describe_change

frontend = _widgets.frontend
engine = _widgets.engine




def test_scheduled_changes_morphs_and_callbacks_at_their_beats(frontend, engine):
    clock = engine.clock
    engine.set_prompt("air", "A5", weight=0.5, at_beat=8)
    engine.set_bpm(128, at_beat=16, ramp_beats=4)
    engine.set_weight("main", 0.5, at_sample=48000 * 3)  # a sample: shown at its beat, 6
    engine.morph({"main": "E4"}, beats=8, at_beat=12)
    engine.ramp("temperature", 1.3, beats=4, at_beat=2)

    def drop():
        pass

    clock.at(drop, bar=5)
    clock.sequence(["C4", "G4"], every="1M", slot="main", start=4)
    clock.at(lambda: None, beat=24)
    engine.render(0.1)  # the worker takes the posted changes onto its timeline
    timeline = Timeline(engine)
    items = timeline.items
    assert items == sorted(items, key=lambda item: item["beat"])
    assert {"lane": "change", "label": "air ← A5 (0.5)", "beat": 8.0} in items
    assert {"lane": "change", "label": "128 BPM over 4 beats", "beat": 16.0} in items
    assert {"lane": "change", "label": "main weight 0.5", "beat": 6.0} in items
    # A morph to prompts names every slot where it ends (air was posted before it, so it is one of them).
    assert {"lane": "morph", "label": "morph to main ← E4, air ← A5", "beat": 12.0, "end": 20.0} in items
    assert {"lane": "morph", "label": "ramp temperature to 1.3", "beat": 2.0, "end": 6.0} in items
    assert {"lane": "callback", "label": "drop", "beat": 20.0} in items
    assert {"lane": "callback", "label": "sequence step", "beat": 4.0} in items
    assert {"lane": "callback", "label": "lambda", "beat": 24.0} in items
    assert frontend.state(timeline)["items"] == items

    engine.render(1.5)  # into the ramp (beats 2 to 6): now it is in progress, not pending
    timeline._poll()
    ramps = [item for item in timeline.items if item["label"] == "ramp temperature to 1.3"]
    assert ramps == [{"lane": "morph", "label": "ramp temperature to 1.3", "beat": 2.0, "end": 6.0}]
    assert engine.automations and timeline.clock["beat"] == pytest.approx(3.4, abs=0.01)
    timeline.close()


def test_a_change_for_as_soon_as_possible_is_shown_at_the_horizon(engine):
    """Live, a change posted without a time waits (for a block at most) with neither sample nor beat."""
    from fractions import Fraction

    from livemusic_kernel.timeline import Event, SetTempo

    item = Timeline._event_item(Event(1, SetTempo(Fraction(100))), engine.tempo, horizon=0.2)
    assert item == {"lane": "change", "label": "100 BPM", "beat": 0.2, "now": True}


def test_the_timeline_follows_the_engine_by_itself(frontend, engine):
    timeline = Timeline(engine)
    assert timeline.items == []
    engine.set_prompt("air", "A5", at_beat=40)
    engine.render(0.05)
    wait_until(lambda: timeline.items, what="the scheduled change showing")
    engine.render(20)
    wait_until(lambda: not timeline.items, what="the landed change leaving")
    timeline.close()


@pytest.mark.parametrize(("post", "words"), [
    (lambda e: e.clear_prompt("main", at_beat=9), "clear main"),
    (lambda e: e.clear_prompts(at_beat=9), "clear all prompts"),
    (lambda e: e.set(temperature=1.2, top_k=20, at_beat=9), "temperature 1.2, top_k 20"),
    (lambda e: e.set(inject_mode="looper", loop_beats=8, at_beat=9), "inject_mode looper, loop_beats 8"),
    (lambda e: e.set_meter(3, at_beat=9), "3 beats a bar"),
    (lambda e: e.note_on(60, at_beat=9), "note on 60"),
    (lambda e: e.notes_off(at_beat=9), "all notes off"),
    (lambda e: e.set_style(e.embed("G4"), at_beat=9), "style G4"),
    (lambda e: e.morph(e.embed("G4"), beats=4, at_beat=9), "morph to G4"),
    (lambda e: e.set_backend("click", at_beat=9), None),  # a switch waits beside the timeline: not listed
])
def test_every_kind_of_change_has_words(engine, post, words):
    post(engine)
    engine.render(0.05)
    labels = [describe_change(event.change) for event in engine.pending_changes()]
    assert labels == ([words] if words else [])


def test_callbacks_are_named_by_what_they_are():
    class Handle:
        def cancel(self):
            pass

    def named():
        pass

    assert describe_callback(named) == "named"
    assert describe_callback(lambda: None) == "lambda"
    assert describe_callback(Handle().cancel) == "Handle.cancel"


def test_zoom_and_bad_values(frontend, engine):
    timeline = Timeline(engine, bars_ahead=4, bars_behind=0)
    ok(frontend.send(timeline, {"type": "zoom", "bars_ahead": 16}))
    assert timeline.bars_ahead == 16
    for bad in (0, 1000, "16", None):
        reply = frontend.send(timeline, {"type": "zoom", "bars_ahead": bad})
        refused(reply, "bars_ahead must be a number from 1 to 256")
    assert timeline.bars_ahead == 16
    timeline.close()
    with pytest.raises(ValueError, match="bars_ahead is a number of bars from 1 to 256"):
        Timeline(engine, bars_ahead=0)
    with pytest.raises(ValueError, match="bars_behind is a number of bars from 0 to 256"):
        Timeline(engine, bars_behind=-1)
