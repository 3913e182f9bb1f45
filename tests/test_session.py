"""Session logs: reading them back, damaged ones, and session scripts."""

import json

import pytest

from livemusic_kernel import Engine, SessionError, render_session
from livemusic_kernel.models.click import CLICK_SPACE
from livemusic_kernel.session import read_session, run_script


def space_for(name, options):
    return CLICK_SPACE


def make_log(path, **options):
    engine = Engine("click", sink=None, log=path, quiet=True, **options)
    engine.set_prompt("a", "C4")
    engine.set_prompt("b", "E4", weight=0.5, at_beat=2)
    engine.render(2.0)
    engine.close()


def test_a_log_holds_a_header_every_change_and_the_end(tmp_path):
    make_log(tmp_path / "s.jsonl", bpm=97)
    session = read_session(tmp_path / "s.jsonl", space_for)
    assert session.header["bpm"] == "97" and session.header["backend"] == "click"
    assert [c.sample for c in session.changes] == [0, 59382]  # beat 2 at 97 BPM
    assert session.end_sample == session.length == 96000


def test_a_killed_sessions_log_still_reads(tmp_path):
    """No end line and a half-written last line: everything before it is good."""
    make_log(tmp_path / "s.jsonl")
    lines = (tmp_path / "s.jsonl").read_text().splitlines()[:-1]
    (tmp_path / "k.jsonl").write_text("\n".join(lines) + '\n{"type":"chan')
    session = read_session(tmp_path / "k.jsonl", space_for)
    assert session.end_sample is None and len(session.changes) == 2
    assert session.length == 48000  # up to the last change


@pytest.mark.parametrize("content, message", [
    ("", "not a session log"),
    ('{"type":"change"}\n', "not a session log"),
    ('{"type":"session","version":99,"backend":"click"}\n', "version 99"),
    ('{"type":"session","version":1,"backend":"click"}\nnot json\n{"type":"end","sample":1}\n', "not a JSON line"),
    ('{"type":"session","version":1,"backend":"click"}\n{"type":"change","sample":0,"kind":"set_tempo","data":{}}\n',
     "bad change line"),
])
def test_damaged_logs_are_refused_with_the_reason(tmp_path, content, message):
    (tmp_path / "bad.jsonl").write_text(content)
    with pytest.raises(SessionError, match=message):
        read_session(tmp_path / "bad.jsonl", space_for)


def test_replay_refuses_unknown_backends_and_missing_files(tmp_path):
    (tmp_path / "s.jsonl").write_text(json.dumps({"type": "session", "version": 1, "backend": "lyria9"}) + "\n")
    with pytest.raises(SessionError, match="backend 'lyria9'"):
        render_session(tmp_path / "s.jsonl", tmp_path / "o.wav")
    with pytest.raises(SessionError, match="cannot read session log"):
        render_session(tmp_path / "none.jsonl", tmp_path / "o.wav")
    with pytest.raises(SessionError, match="cannot write the session log"):
        Engine("click", sink=None, log=tmp_path / "no" / "dir.jsonl")


def test_a_raising_script_is_reported_and_the_session_goes_on(tmp_path, capsys):
    script = tmp_path / "piece.py"
    script.write_text("engine.set_prompt('a', 'C4')\nengine.wait(beats=4)\n1 / 0\n")
    engine = Engine("click", sink=None, quiet=True)
    run_script(engine, script)
    assert "raised; the session goes on" in capsys.readouterr().err
    assert engine.horizon == 96000
    engine.render(1.0)
    assert "a" in engine.slots
    with pytest.raises(SessionError, match="not found"):
        run_script(engine, tmp_path / "missing.py")
