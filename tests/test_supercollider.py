"""The SuperCollider kit with a real, headless sclang (Debian's supercollider-language)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from livemusic_kernel import Engine
from livemusic_kernel.osc import OscServer

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "osc" / "supercollider"

pytestmark = pytest.mark.skipif(shutil.which("sclang") is None,
                                reason="sclang is not installed (.ci/run installs supercollider-language as root)")


def test_the_example_steers_the_engine_and_hears_its_beats(tmp_path):
    """example.scd as it is, with the LMK class: prompts, tempo, a timed change, an error
    reply, a query and beat notifications, all through a real sclang."""
    log = tmp_path / "sc.jsonl"
    engine = Engine("click", sink="null", quiet=True, log=log).start()
    failures: list[str] = []
    server = OscServer(engine, port=0, log=failures.append).start()
    conf = tmp_path / "sclang_conf.yaml"
    conf.write_text(f"includePaths:\n    - {KIT / 'LiveMusicKernel' / 'classes'}\nexcludeDefaultPaths: false\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1",
           "LMK_PORT": str(server.port)}
    try:
        result = subprocess.run(["sclang", "-l", str(conf), str(KIT / "example.scd")], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        server.close()
        engine.close()
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert "ERROR" not in out, out[-3000:]
    assert "LMK slots: [ main, C4, 1.0, air, C6, 0.5 ]" in out
    assert "LMK: /lmk/weight failed: no prompt slot 'nowhere'" in out
    beats = int(out.split("LMK beats heard: ")[1].split()[0])
    assert beats >= 3
    assert engine.bpm == 126.0 and failures and "nowhere" in failures[0]
    weights = [json.loads(line) for line in log.read_text().splitlines() if '"set_weight"' in line]
    assert len(weights) == 1 and weights[0]["asked"] == weights[0]["sample"]  # the timed change, on its sample


def test_the_quark_names_its_class_and_help():
    quark = (KIT / "LiveMusicKernel" / "LiveMusicKernel.quark").read_text()
    assert 'schelp: "LMK"' in quark
    help_file = (KIT / "LiveMusicKernel" / "HelpSource" / "Classes" / "LMK.schelp").read_text()
    source = (KIT / "LiveMusicKernel" / "classes" / "LMK.sc").read_text()
    for method in ("prompt", "weight", "morph", "tempo", "noteOn", "at", "query", "subscribe", "onBeat", "free"):
        assert f"METHOD:: {method}" in help_file and f"\t{method} {{" in source
