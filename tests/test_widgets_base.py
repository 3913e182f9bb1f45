"""What every widget shares: front-end files, checked requests with replies, refused state updates,
the values a browser may send, and the lazy import of the jupyter extra."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import _widgets
import pytest
from _widgets import ok, refused

from livemusic_kernel import MissingExtraError
from livemusic_kernel.widgets import Injection, Instrument, Player, PromptMixer, Scope, Timeline, Transport, XYPad
from livemusic_kernel.widgets._base import FRONTEND, InstrumentWidget, Pending, flag, integer, number, request, text

frontend = _widgets.frontend
engine = _widgets.engine
#: Each widget, its front-end module, and a trait a rogue browser might try to set.
WIDGETS = {Player: ("player.js", "lead_ms"), PromptMixer: ("mixer.js", "slots"), Scope: ("scope.js", "bands"),
           Timeline: ("timeline.js", "items"), Transport: ("transport.js", "clock"), XYPad: ("xypad.js", "x")}




def test_every_widget_ships_its_front_end():
    """Each widget's module, the shared helpers, the CSS and the worklet are files of the package."""
    names = {path.name for path in FRONTEND.iterdir()}
    assert {"shared.js", "instrument.css", "player-worklet.js"} <= names
    for widget, (module, _) in WIDGETS.items():
        path = FRONTEND / module
        assert path.is_file() and "export default" in path.read_text()
        assert str(widget._esm) == path.read_text()  # what anywidget sends is the file itself


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: w.__name__)
def test_every_widget_refuses_nonsense_without_raising(frontend, engine, widget, capsys):
    """Unknown requests, requests that are not objects, and odd ids all get an error reply."""
    view = widget(engine)
    error = refused(frontend.send(view, {"type": "explode"}), "unknown request 'explode'", "this widget takes")
    for kind in view._requests:  # the reply lists every request the widget takes
        assert kind in error
    refused(frontend.send(view, ["not", "an", "object"]), "a request is a JSON object")
    refused(frontend.send(view, None), "a request is a JSON object")
    reply = frontend.send(view, {"type": "explode", "id": ["weird"]})
    assert reply["id"] is None and reply["ok"] is False
    assert view.refused == 4
    view.close()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: w.__name__)
def test_a_rogue_state_update_is_refused_and_every_view_gets_the_last_good_state(frontend, engine, widget):
    view = widget(engine)
    name = WIDGETS[widget][1]
    before = getattr(view, name)
    frontend.update(view, {name: "not this"})
    assert getattr(view, name) == before
    reply = frontend.custom(view, "reply")[-1][0]
    refused(reply, f"refused a state update of {name}: the kernel owns this widget's state")
    assert frontend.state(view)[name] == before
    view.close()


class Counter(InstrumentWidget):
    """A widget of our own to reach the request machinery's edges."""

    _esm = FRONTEND / "shared.js"

    @request("add")
    def _add(self, content, buffers):
        return {"sum": number(content, "a", -10, 10) + number(content, "b", -10, 10), "buffers": len(buffers)}

    @request("bug")
    def _bug(self, content, buffers):
        return 1 / 0


def test_a_request_gets_its_result_and_a_bug_in_a_handler_is_a_reply_not_a_crash(frontend, engine, capsys):
    widget = Counter(engine)
    assert ok(frontend.send(widget, {"type": "add", "a": 2, "b": 3.5}, [b"x", b"y"])) == {"sum": 5.5, "buffers": 2}
    refused(frontend.send(widget, {"type": "bug"}), "division by zero")
    assert "ZeroDivisionError" in capsys.readouterr().err  # a bug is printed with its traceback, for us
    assert widget.last_refusal == "bug: division by zero"
    widget.close()


def test_a_widget_steers_an_engine_only():
    with pytest.raises(TypeError, match="a widget steers an Engine"):
        Transport("engine")


@pytest.mark.parametrize(("value", "valid"), [
    (0.5, True), (1, True), (-1, True), (10, True),
    (True, False), ("1", False), (None, False), (math.nan, False), (math.inf, False), (10.5, False), ([], False)])
def test_numbers_from_the_browser(value, valid):
    if valid:
        assert number({"x": value}, "x", -1, 10) == float(value)
    else:
        with pytest.raises(ValueError, match="x must be a number from -1 to 10"):
            number({"x": value}, "x", -1, 10)


def test_whole_numbers_text_and_flags_from_the_browser():
    assert integer({"n": 3}, "n", 0, 5) == 3
    assert integer({"n": 3.0}, "n", 0, 5) == 3
    for bad in (3.5, True, "3", 6, -1, None):
        with pytest.raises(ValueError, match="n must be a whole number from 0 to 5"):
            integer({"n": bad}, "n", 0, 5)
    assert text({"t": "  dub  "}, "t") == "dub"
    for bad in ("", "   ", 5, None, "x" * 501):
        with pytest.raises(ValueError, match="t must be non-empty text of at most 500 characters"):
            text({"t": bad}, "t")
    assert flag({"f": False}, "f") is False
    with pytest.raises(ValueError, match="f must be true or false"):
        flag({"f": "yes"}, "f")
    with pytest.raises(ValueError, match="the request has no 'missing'"):
        number({}, "missing", 0, 1)
    assert number({}, "missing", 0, 1, default=None) is None


def test_pending_shows_what_a_view_asked_for_until_the_engine_agrees_or_time_runs_out():
    pending = Pending(timeout=0.2)
    pending.expect("w", 0.5)
    assert pending.shown("w", 0.3) == 0.5  # the change has not landed yet
    assert pending.shown("w", 0.5) == 0.5  # landed: the engine and the view agree ...
    assert pending.shown("w", 0.7) == 0.7  # ... so later changes from code show at once
    pending.expect("w", 0.9)
    time.sleep(0.25)
    assert pending.shown("w", 0.3) == 0.3  # refused or overtaken: the engine wins
    pending.expect(("new", "a"), True)
    assert pending.waiting("new") == ["a"]
    pending.forget(("new", "a"))
    assert pending.waiting("new") == []


def test_without_the_jupyter_extra_the_widgets_name_it():
    """A missing anywidget raises MissingExtraError naming the extra, from the package and engine.ui()."""
    code = ("import sys; sys.modules['anywidget'] = None\n"
            "from livemusic_kernel import Engine, MissingExtraError\n"
            "try:\n    Engine('click', sink=None).ui()\n"
            "except MissingExtraError as error:\n    print('engine.ui:', error)\n"
            "try:\n    import livemusic_kernel.widgets\n"
            "except MissingExtraError as error:\n    print('import:', error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for line in ("engine.ui:", "import:"):
        assert f"{line} the notebook widgets needs the optional extra 'jupyter'" in result.stdout
    assert "pip install 'livemusic-kernel[jupyter]'" in result.stdout
    assert issubclass(MissingExtraError, ImportError)


def test_engine_ui_lays_out_every_widget(frontend, engine):
    ui = engine.ui(corners=["a", "b", "c", "d"], player={"lead_ms": 400})
    assert isinstance(ui, Instrument)
    parts = [ui.transport, ui.player, ui.mixer, ui.xy, ui.scope, ui.timeline, ui.inject]
    kinds = [Transport, Player, PromptMixer, XYPad, Scope, Timeline, Injection]
    assert all(isinstance(part, kind) for part, kind in zip(parts, kinds, strict=True))
    assert list(ui.children[0].children) == parts
    assert "lmk-instrument" in ui.children[0]._dom_classes and "lmk-stage" in ui._dom_classes
    for area, part in zip(("transport", "player", "mixer", "xy", "scope", "timeline", "inject"), parts, strict=True):
        assert f"lmk-area-{area}" in part._dom_classes
    assert ui.xy.corners == ["a", "b", "c", "d"] and ui.player.lead_ms == 400
    assert len(engine._listeners) == 1  # the Scope listens; the Player only once started
    ui.player.start()
    assert len(engine._injector._listeners) == 1  # the Injection panel hears the input's level
    ui.close()
    assert engine._listeners == () and engine._injector._listeners == ()
    assert all(p.comm is None for p in parts)
    assert all(not p._subscriptions or all(s not in p._subscriptions[0].watcher._subscriptions
                                            for s in p._subscriptions) for p in parts)
