"""The timeline: what lands when, in which order."""

from fractions import Fraction

import pytest

from livemusic_kernel.errors import SessionError
from livemusic_kernel.models.click import CLICK_SPACE
from livemusic_kernel.tempo import TempoMap
from livemusic_kernel.timeline import (
    ClearSlots,
    Event,
    SetMeter,
    SetParams,
    SetTempo,
    Timeline,
    change_from_json,
    check_param,
)

TEMPO = TempoMap(120, 48000)


def drain(timeline, cursor):
    order = []
    while True:
        event, at = timeline.next_due(TEMPO, cursor)
        if event is None:
            return order
        timeline.pop(event)
        order.append((event.seq, at))


def test_events_come_out_by_sample_then_by_posting_order():
    timeline = Timeline()
    timeline.add(Event(1, ClearSlots(), sample=500))
    timeline.add(Event(2, ClearSlots(), beat=Fraction(1, 100)))  # sample 240
    timeline.add(Event(3, ClearSlots()))                          # as soon as possible
    timeline.add(Event(4, ClearSlots(), sample=500))
    timeline.add(Event(5, ClearSlots(), sample=10))               # overdue at cursor 100
    assert drain(timeline, 100) == [(3, 100), (5, 100), (2, 240), (1, 500), (4, 500)]
    assert len(timeline) == 0


def test_cancelled_events_are_skipped_and_cancel_reports_whether_it_found_one():
    timeline = Timeline()
    for seq in (1, 2, 3):
        timeline.add(Event(seq, ClearSlots(), sample=seq * 100))
    assert timeline.cancel(2) is True
    assert timeline.cancel(2) is False and timeline.cancel(99) is False
    assert [e.seq for e in timeline.pending()] == [1, 3]
    assert [seq for seq, _ in drain(timeline, 0)] == [1, 3]


def test_changes_round_trip_through_json():
    for change in (SetParams((("temperature", 1.3), ("seed", 7))), SetTempo(Fraction(2561, 20)),
                   SetMeter(7), ClearSlots()):
        again = change_from_json(change.kind, change.to_json(), CLICK_SPACE)
        assert again == change


def test_unknown_changes_and_bad_params_are_refused():
    with pytest.raises(SessionError, match="unknown change 'explode' in session log; known:"):
        change_from_json("explode", {}, CLICK_SPACE)
    with pytest.raises(ValueError, match="seed must be between"):
        check_param("seed", -1)
    with pytest.raises(ValueError, match="guidance must be a number"):
        check_param("guidance", "loud")
