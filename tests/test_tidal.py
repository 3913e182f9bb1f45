"""The Tidal kit against a real Tidal 1.7 (Debian's ghc and libghc-tidal-dev)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from livemusic_kernel import Engine
from livemusic_kernel.osc import OscServer

ROOT = Path(__file__).resolve().parents[1]


def tidal_available() -> bool:
    if shutil.which("ghci") is None:
        return False
    probe = subprocess.run(["ghc-pkg", "list", "tidal"], capture_output=True, text=True)
    return "tidal" in probe.stdout


pytestmark = pytest.mark.skipif(not tidal_available(),
                                reason="Tidal is not installed (.ci/run installs ghc and libghc-tidal-dev as root)")


def test_a_tidal_pattern_changes_prompts_on_the_cycles_it_was_stamped_for(tmp_path):
    """One prompt a cycle from Tidal: each change lands on the sample its bundle was stamped
    for (never late), one cycle apart, in the pattern's order."""
    log = tmp_path / "tidal.jsonl"
    engine = Engine("click", sink="null", quiet=True, log=log).start()
    failures: list[str] = []
    server = OscServer(engine, port=0, log=failures.append).start()
    kit = (ROOT / "osc" / "tidal" / "lmk.ghci").read_text()
    assert "oPort = 57130" in kit
    (tmp_path / "lmk.ghci").write_text(kit.replace("oPort = 57130", f"oPort = {server.port}"))
    (tmp_path / "boot.ghci").write_text(f""":script {tmp_path / 'lmk.ghci'}
lmkcps 0.5625
lmkd1 $ prompt "<C4 C5>" # weight 0.8
import Control.Concurrent
threadDelay 8000000
lmkhush
:quit
""")
    try:
        result = subprocess.run(["ghci", "-ghci-script", str(tmp_path / "boot.ghci")], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=180, cwd=tmp_path)
    finally:
        server.close()
        engine.close()
    assert result.returncode == 0 and "error" not in result.stderr.lower(), result.stderr
    assert failures == []
    changes = [json.loads(line) for line in log.read_text().splitlines() if '"set_slot"' in line]
    assert len(changes) >= 3
    assert all(change["asked"] == change["sample"] for change in changes)  # landed on the stamp, not late
    cycle = 48000 / 0.5625
    gaps = [b["sample"] - a["sample"] for a, b in zip(changes, changes[1:], strict=False)]  # neighbours
    assert all(abs(gap - cycle) <= engine.block_size for gap in gaps), gaps
    texts = [change["data"]["prompt"]["text"] for change in changes]
    assert texts[:2] in (["C4", "C5"], ["C5", "C4"]) and texts[2] == texts[0]
    assert all(change["data"]["weight"] == pytest.approx(0.8) for change in changes)


def test_the_example_uses_only_what_the_kit_defines():
    kit = (ROOT / "osc" / "tidal" / "lmk.ghci").read_text()
    example = (ROOT / "osc" / "tidal" / "example.tidal").read_text()
    for name in ("lmkd1", "lmkd2", "lmkd3", "prompt", "slot", "weight", "morph", "temperature", "topk", "lmkhush"):
        assert name in example.replace("-- ", "") and f"{name} =" in kit.replace("let ", "")
