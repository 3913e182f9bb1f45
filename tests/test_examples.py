"""Every file in examples/ runs as it is and writes valid audio of the length it promises."""

from __future__ import annotations

import ast
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from livemusic_kernel.recorder import read_wav

pytestmark = pytest.mark.integration

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
LMK = shutil.which("lmk", path=str(Path(sys.executable).parent)) or shutil.which("lmk")
RATE = 48000
TIMEOUT = 180  # a guard against hangs only

#: The length each example's audio should have, in seconds. session_script.py:
#: 8 bars of 4/4 at 90 BPM (32 beats, 64/3 s), then 8 bars at 96 BPM (20 s).
EXPECTED_SECONDS = {
    "quick_render.py": 8.0,
    "session_script.py": 32 * 60 / 90 + 32 * 60 / 96,
    # 16 bars at 120 BPM, 8 bars gliding to 128 (120*32/248 s), 8 bars at 128.
    "piece_32_bars.py": 32.0 + 120 * 32 / 248 + 32 * 60 / 128,
}


def is_session_script(path: Path) -> bool:
    """A session script uses the name ``engine`` without binding it: `lmk --script` provides it."""
    names = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Name) and node.id == "engine"]
    return any(isinstance(n.ctx, ast.Load) for n in names) and not any(isinstance(n.ctx, ast.Store)
                                                                       for n in names)


def run(command: list, cwd: Path) -> subprocess.CompletedProcess:
    """Run a command to completion, require exit 0 and no traceback, and return it."""
    result = subprocess.run([str(part) for part in command], check=False, cwd=cwd,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stderr}"
    # run_script reports a script's exception and carries on, so exit 0 alone proves little.
    assert "Traceback" not in result.stderr and "raised" not in result.stderr, result.stderr
    return result


def run_example(example: Path, out: Path) -> subprocess.CompletedProcess:
    """Run an example the way its docstring says: a session script through `lmk render`,
    any other example with Python and the output path as its argument."""
    if is_session_script(example):
        return run([LMK, "render", "--script", example, "--out", out], cwd=out.parent)
    return run([sys.executable, example, out], cwd=out.parent)


def assert_valid_audio(path: Path, seconds: float) -> None:
    """48 kHz stereo, finite, not silent, and exactly ``seconds`` long."""
    audio, rate = read_wav(path)
    assert rate == RATE
    assert audio.ndim == 2 and audio.shape[1] == 2
    assert len(audio) == math.ceil(seconds * RATE - 1e-6)  # a render ends on the first sample at or after its last beat
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() > 0.01


def test_there_are_examples():
    """The examples directory holds the examples the README points to."""
    assert {path.name for path in EXAMPLES} >= {"quick_render.py", "session_script.py"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs_and_writes_valid_audio(tmp_path, example):
    """The example exits 0 and the WAV it writes is valid and as long as expected."""
    assert example.name in EXPECTED_SECONDS, f"add the length of {example.name}'s audio to EXPECTED_SECONDS"
    out = tmp_path / "out.wav"
    run_example(example, out)
    assert_valid_audio(out, EXPECTED_SECONDS[example.name])


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_docstring_says_how_to_run_it(example):
    """Each example opens with a docstring that names itself in a command line."""
    docstring = ast.get_docstring(ast.parse(example.read_text(encoding="utf-8")))
    assert docstring and f"examples/{example.name}" in docstring


def test_quick_render_default_output_path(tmp_path):
    """Without an argument, quick_render.py writes quick_render.wav in the current directory."""
    run([sys.executable, EXAMPLES_DIR / "quick_render.py"], cwd=tmp_path)
    assert_valid_audio(tmp_path / "quick_render.wav", EXPECTED_SECONDS["quick_render.py"])


@pytest.mark.parametrize("example", [p for p in EXAMPLES if is_session_script(p)],
                         ids=lambda path: path.name)
def test_session_script_plays_live(tmp_path, example):
    """A session script also runs live: `lmk play --script ... --sink null` exits 0 and records."""
    result = run([LMK, "play", "--script", example, "--sink", "null", "--seconds", "3", "--status", "0",
                  "--record", "r.wav"], cwd=tmp_path)
    assert "recording finished" in result.stderr
    audio, rate = read_wav(tmp_path / "r.wav")
    assert rate == RATE and audio.shape[1] == 2 and len(audio) > 0
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01


def test_the_notebook_runs_cell_by_cell_and_renders_the_same_piece(tmp_path):
    """The notebook's code cells, run in order as Jupyter would, render what the script renders."""
    import json

    from livemusic_kernel import read_wav

    notebook = json.loads((EXAMPLES_DIR / "piece_32_bars.ipynb").read_text())
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "piece_32_bars.ipynb", "exec"), namespace)
    audio = namespace["audio"]
    out = tmp_path / "script.wav"
    result = run([LMK, "render", "--script", EXAMPLES_DIR / "piece_32_bars.py", "--out", out], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(audio, read_wav(out)[0])
