"""Tests for the ``lmk`` command, run as real subprocesses of the installed entry point."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile

from livemusic_kernel import __version__
from livemusic_kernel.errors import PortAudioMissingError
from livemusic_kernel.recorder import read_wav
from livemusic_kernel.sinks import import_sounddevice

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[1]
SESSION_SCRIPT = REPO_ROOT / "examples" / "session_script.py"
RATE = 48000
# A guard against hangs only; no assertion depends on how long anything takes.
TIMEOUT = 180

# The console script installed next to this interpreter (the venv's bin/).
LMK = shutil.which("lmk", path=str(Path(sys.executable).parent)) or shutil.which("lmk")


def lmk(*args: str | Path, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``lmk ARGS...`` to completion and capture its output as text."""
    assert LMK is not None, "the 'lmk' entry point is not installed; pip install -e ."
    return subprocess.run([LMK, *map(str, args)], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def ok(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``lmk ARGS...`` and require exit status 0."""
    result = lmk(*args, cwd=cwd)
    assert result.returncode == 0, f"lmk {' '.join(map(str, args))} failed:\n{result.stderr}"
    return result


def valid_audio(path: Path, frames: int | None = None) -> np.ndarray:
    """Read a WAV the engine wrote and check it is 48 kHz stereo, finite and not silent."""
    audio, rate = read_wav(path)
    assert rate == RATE
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    if frames is not None:
        assert len(audio) == frames
    assert len(audio) > 0
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() > 0.01
    return audio


def log_records(path: Path) -> list[dict]:
    """The JSON lines of a session log."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def end_sample(log: Path) -> int:
    """The session length a log's end line records."""
    ends = [record["sample"] for record in log_records(log) if record["type"] == "end"]
    assert len(ends) == 1, f"{log} has no single end line"
    return ends[0]


# -- help and version -----------------------------------------------------------

ENGINE_OPTIONS = ["--prompt", "--backend", "--bpm", "--meter", "--seed", "--temperature", "--top-k",
                  "--guidance", "--script", "--log"]
COMMAND_OPTIONS = {
    "play": ENGINE_OPTIONS + ["--sink", "--device", "--latency", "--seconds", "--record", "--status"],
    "serve": ENGINE_OPTIONS + ["--sink", "--device", "--latency", "--seconds", "--record", "--status",
                               "--host", "--port", "--allow", "--audio-folder"],
    "render": ENGINE_OPTIONS + ["--out", "--seconds", "--replay", "--subtype"],
    "embed": ["prompt", "--backend", "--json"],
    "devices": [],
    "bench": ["--seconds", "--backend", "--json"],
}


def test_top_level_help_lists_every_command(tmp_path):
    """`lmk --help` exits 0 and names every command and --version."""
    out = ok("--help", cwd=tmp_path).stdout
    for name in [*COMMAND_OPTIONS, "--version"]:
        assert name in out


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
def test_command_help_lists_its_options(tmp_path, command):
    """`lmk COMMAND --help` exits 0 and mentions each of the command's options."""
    out = ok(command, "--help", cwd=tmp_path).stdout
    assert out.startswith(f"usage: lmk {command}")
    for option in COMMAND_OPTIONS[command]:
        assert option in out, f"'lmk {command} --help' does not mention {option}"


def test_version_from_entry_point_and_module(tmp_path):
    """`lmk --version` (the entry point and `python -m`) prints the package version."""
    assert ok("--version", cwd=tmp_path).stdout.strip() == f"lmk {__version__}"
    module = subprocess.run([sys.executable, "-m", "livemusic_kernel.cli", "--version"], check=False,
                            cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert module.returncode == 0 and module.stdout.strip() == f"lmk {__version__}"


# -- bad arguments ----------------------------------------------------------------

BAD_ARGUMENTS = {
    "unknown option": ["render", "--no-such-option", "--out", "x.wav"],
    "missing --out": ["render", "--prompt", "C4"],
    "non-numeric --bpm": ["render", "--bpm", "fast", "--out", "x.wav"],
    "absurd --bpm": ["render", "--bpm", "5000", "--out", "x.wav"],
    "unknown --backend": ["render", "--backend", "no-such-model", "--out", "x.wav"],
    "negative --seconds": ["render", "--seconds", "-3", "--out", "x.wav"],
    "negative --seconds (play)": ["play", "--sink", "null", "--seconds", "-1"],
    "missing script": ["render", "--script", "no-such-script.py", "--out", "x.wav"],
    "missing script (play)": ["play", "--sink", "null", "--script", "no-such-script.py", "--seconds", "1"],
    "missing replay": ["render", "--replay", "no-such-session.jsonl", "--out", "x.wav"],
    "--replay with --prompt": ["render", "--replay", "{log}", "--prompt", "C4", "--out", "x.wav"],
    "missing audio prompt": ["render", "--prompt", "no-such-loop.wav:0.5", "--out", "x.wav"],
    "missing audio to embed": ["embed", "no-such-loop.wav"],
}


@pytest.fixture(scope="module")
def short_log(tmp_path_factory) -> Path:
    """A real session log of one second, for tests that need a replay file that exists."""
    where = tmp_path_factory.mktemp("short_log")
    ok("render", "--prompt", "C4", "--seconds", "1", "--log", "s.jsonl", "--out", "s.wav", cwd=where)
    return where / "s.jsonl"


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_with_one_error_line(tmp_path, short_log, case):
    """Each kind of bad argument exits 2 with exactly one 'lmk ... error' line and writes nothing."""
    args = [arg.format(log=short_log) for arg in BAD_ARGUMENTS[case]]
    result = lmk(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("lmk") and "error" in lines[0]
    assert not (tmp_path / "x.wav").exists()


# -- render -------------------------------------------------------------------------

def test_without_bpm_the_prompts_set_the_tempo(tmp_path):
    """`lmk render -p "drum and bass"` plays at drum and bass's tempo; --bpm overrides; weights blend it."""
    def header_bpm(*options):
        ok("render", *options, "--seconds", "1", "--log", "s.jsonl", "--out", "s.wav", cwd=tmp_path)
        return float(Fraction(log_records(tmp_path / "s.jsonl")[0]["bpm"]))

    assert header_bpm("-p", "drum and bass") == 174
    assert header_bpm("-p", "drum and bass", "--bpm", "100") == 100
    assert 80 < header_bpm("-p", "drum and bass:0.5", "-p", "ambient:0.5") < 140
    assert header_bpm("-b", "click", "-p", "C4") == 120  # the click model knows no tempo
    assert header_bpm("-p", "techno:0") == 120  # nothing weighs


def test_render_30_seconds_of_minimal_techno(tmp_path):
    """Acceptance: `lmk render --prompt "minimal techno" --seconds 30` writes 30 s of 48 kHz stereo."""
    ok("render", "--prompt", "minimal techno", "--seconds", "30", "--out", "x.wav", cwd=tmp_path)
    valid_audio(tmp_path / "x.wav", frames=30 * RATE)
    assert soundfile.info(str(tmp_path / "x.wav")).subtype == "FLOAT"


def test_weighted_prompts_blend_and_pcm16(tmp_path):
    """Weighted prompts reach the engine as weighted slots, and --subtype pcm16 writes 16-bit PCM."""
    ok("render", "-b", "click", "--prompt", "C4:0.25", "--prompt", "C5:0.75", "--seconds", "2", "--subtype", "pcm16",
       "--log", "a.jsonl", "--out", "a.wav", cwd=tmp_path)
    ok("render", "-b", "click", "--prompt", "C4:0.75", "--prompt", "C5:0.25", "--seconds", "2", "--out", "b.wav",
       cwd=tmp_path)
    assert soundfile.info(str(tmp_path / "a.wav")).subtype == "PCM_16"
    a = valid_audio(tmp_path / "a.wav", frames=2 * RATE)
    b = valid_audio(tmp_path / "b.wav", frames=2 * RATE)
    slots = {r["data"]["slot"]: r["data"]["weight"] for r in log_records(tmp_path / "a.jsonl")
             if r["type"] == "change" and r["kind"] == "set_slot"}
    assert slots == {"p1": 0.25, "p2": 0.75}
    assert not np.allclose(a, b, atol=1e-3), "swapping the weights should change the sound"


def test_script_render_replays_bit_for_bit(tmp_path):
    """A script's render and the render of its session log are bit-identical."""
    first = ok("render", "--script", SESSION_SCRIPT, "--log", "s.jsonl", "--out", "a.wav", cwd=tmp_path)
    assert "raised" not in first.stderr, first.stderr
    ok("render", "--replay", "s.jsonl", "--out", "b.wav", cwd=tmp_path)
    a = valid_audio(tmp_path / "a.wav", frames=end_sample(tmp_path / "s.jsonl"))
    b = valid_audio(tmp_path / "b.wav")
    assert a.dtype == b.dtype == np.float32
    assert np.array_equal(a, b)


# -- play -------------------------------------------------------------------------------

def test_play_null_sink_records_what_replay_renders(tmp_path):
    """`lmk play --sink null` records as long as its log says, and the replay is bit-identical."""
    result = ok("play", "--sink", "null", "--seconds", "3", "--record", "r.wav", "--log", "p.jsonl",
                cwd=tmp_path)
    assert "playing" in result.stderr and "null sink" in result.stderr
    recorded = valid_audio(tmp_path / "r.wav", frames=end_sample(tmp_path / "p.jsonl"))
    ok("render", "--replay", "p.jsonl", "--out", "q.wav", cwd=tmp_path)
    replayed = valid_audio(tmp_path / "q.wav")
    assert np.array_equal(recorded, replayed)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_play_stops_cleanly_on_signal(tmp_path, signum):
    """`lmk play` stopped by SIGTERM or SIGINT exits 0 with its recording and log finished."""
    process = subprocess.Popen([LMK, "play", "--sink", "null", "--status", "0", "--record", "r.wav",
                                "--log", "p.jsonl"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stderr.readline()  # the "playing" line: the signal handlers are installed
        assert "playing" in first, first
        time.sleep(2)
        process.send_signal(signum)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, first + rest
    assert "recording finished" in rest
    valid_audio(tmp_path / "r.wav", frames=end_sample(tmp_path / "p.jsonl"))


# -- embed, devices, bench ------------------------------------------------------------

def test_embed_note_name(tmp_path):
    """`lmk embed C4` prints the click style with pitch 60."""
    out = ok("embed", "-b", "click", "C4", cwd=tmp_path).stdout
    rows = dict(line.split() for line in out.splitlines()[1:])
    assert float(rows["pitch"]) == 60.0


def test_embed_json(tmp_path):
    """`lmk embed --json "440 Hz"` prints JSON in the click/1 space with pitch 69."""
    style = json.loads(ok("embed", "-b", "click", "--json", "440 Hz", cwd=tmp_path).stdout)
    assert style["space"] == "click/1"
    assert style["vector"][0] == 69.0


def test_embed_audio_file(tmp_path):
    """`lmk embed some.wav` analyses the audio: a 440 Hz sine embeds near pitch 69."""
    t = np.arange(RATE) / RATE
    soundfile.write(str(tmp_path / "some.wav"), 0.5 * np.sin(2 * np.pi * 440.0 * t), RATE)
    style = json.loads(ok("embed", "-b", "click", "--json", "some.wav", cwd=tmp_path).stdout)
    assert style["space"] == "click/1" and style["label"] == "audio"
    assert style["vector"][0] == pytest.approx(69.0, abs=0.1)


def test_devices(tmp_path):
    """`lmk devices` lists devices (or says there are none); without PortAudio it says how to install it."""
    try:
        sounddevice = import_sounddevice()
    except PortAudioMissingError:
        result = lmk("devices", cwd=tmp_path)
        assert result.returncode != 0
        assert "install PortAudio" in result.stderr
        return
    out = ok("devices", cwd=tmp_path).stdout
    if len(sounddevice.query_devices()) == 0:
        assert "no audio devices" in out
    else:
        assert out.strip()


def test_bench_json(tmp_path):
    """`lmk bench --seconds 1 --json` reports latency for every config and a render speed."""
    report = json.loads(ok("bench", "--seconds", "1", "--json", cwd=tmp_path).stdout)
    assert set(report["latency"]) == {"default", "low", "baseline-2s-chunks"}
    for figures in report["latency"].values():
        assert {"count", "p50", "p95", "max"} <= set(figures["latency_ms"])
        assert figures["latency_ms"]["count"] > 0
    assert report["render"]["times_real_time"] > 0
