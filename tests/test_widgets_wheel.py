"""The wheel carries the widgets' front end, and an installed wheel finds it.

The front-end sources live in the repository's top-level widgets/ folder; pyproject's package data
ships them inside the package (livemusic_kernel/widgets/frontend). This builds a real wheel from a
copy of the checkout and imports the widgets from the unpacked wheel alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
FRONT_END = sorted(path.name for path in (ROOT / "widgets").iterdir() if path.suffix in (".js", ".css"))


def test_an_installed_wheel_finds_the_widgets_front_end(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "out", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "reference"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                             str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("livemusic_kernel-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(name).name: archive.read(name) for name in archive.namelist()
                   if name.startswith("livemusic_kernel/widgets/frontend/")}
        archive.extractall(tmp_path / "site")
    assert {"shared.js", "instrument.css", "player-worklet.js", "player.js"} <= set(FRONT_END)
    assert sorted(shipped) == FRONT_END
    for name, data in shipped.items():
        assert data == (ROOT / "widgets" / name).read_bytes(), f"{name} differs in the wheel"

    code = ("import livemusic_kernel, livemusic_kernel.widgets as w\n"
            "from livemusic_kernel.widgets._base import FRONTEND\n"
            "print(livemusic_kernel.__file__); print(FRONTEND)\n"
            "print(str(w.Player._esm) == (FRONTEND / 'player.js').read_text())\n")
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package, frontend, same = result.stdout.split()
    assert Path(package).is_relative_to(site) and Path(frontend) == site / "livemusic_kernel/widgets/frontend"
    assert not Path(frontend).is_symlink() and same == "True"
