"""A real JupyterLab on 127.0.0.1 with a token, and Debian's Chromium driven by Playwright.

JupyterLab runs in a folder of the test's own, with its own Jupyter config,
data and runtime folders, so the user's settings and workspaces never leak in.
Chromium is the system browser (``/usr/bin/chromium``): Playwright drives it
and never downloads a browser of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage"]
#: JupyterLab's own pop-ups (news, update checks) would cover the notebook in screenshots.
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
#: Start the notebook's kernel without asking which one (the dialog would wait for a click).
SETTINGS = {"@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A running JupyterLab server: its URL, token and folders."""

    def __init__(self, root: Path, port: int, token: str, runtime: Path, process: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.runtime = root, port, token, runtime
        self.process, self.log = process, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str, host: str = "127.0.0.1") -> str:
        """The notebook's address; another ``host`` (mapped to 127.0.0.1 in Chromium) makes the page an
        insecure context, as plain http to a remote server is."""
        return f"http://{host}:{self.port}/lab/tree/{name}?token={self.token}&reset"

    def api(self, path: str) -> object:
        request = urllib.request.Request(f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def kernel_client(self, notebook: str):
        """A client of the kernel that runs ``notebook`` (started by the browser), ready to execute code."""
        from jupyter_client import BlockingKernelClient

        sessions = [s for s in self.api("sessions") if s["path"].endswith(notebook)]
        if not sessions:
            raise RuntimeError(f"no kernel session for {notebook}; sessions: {self.api('sessions')}")
        connection = self.runtime / f"kernel-{sessions[0]['kernel']['id']}.json"
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels()
        # Not wait_for_ready(): it drains IOPub until a 0.2 s silence, which never comes while the Player streams.
        client.kernel_info()
        client.get_shell_msg(timeout=30)
        return client

    def wait_for_kernel(self, notebook: str, timeout: float = 60) -> None:
        """Until the notebook's kernel has started and a browser is connected to it."""
        deadline = time.monotonic() + timeout
        while True:
            sessions = [s for s in self.api("sessions") if s["path"].endswith(notebook)]
            if sessions and sessions[0]["kernel"]["connections"] >= 1 \
                    and sessions[0]["kernel"]["execution_state"] == "idle":
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no idle kernel connected for {notebook} within {timeout} s: {sessions}")
            time.sleep(0.2)

    def tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:]


@contextmanager
def jupyterlab(root: Path, timeout: float = 90):
    """Start JupyterLab serving ``root``; yield a :class:`Lab`; stop it."""
    home = root.parent / f"{root.name}-jupyter"
    config, data, runtime = home / "config", home / "data", home / "runtime"
    for folder in (config / "labconfig", data, runtime):
        folder.mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    for plugin, values in SETTINGS.items():
        path = home / "settings" / f"{plugin.replace(':', '/')}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(data),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "PYTHONUNBUFFERED": "1"}
    log = home / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--ServerApp.allow_root=True", "--ServerApp.allow_remote_access=True"],  # for REMOTE_HOST pages
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(root, port, token, runtime, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.tail()}")
            try:
                lab.api("status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{lab.tail()}") from None
                time.sleep(0.3)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def execute(client, code: str, timeout: float = 60) -> str:
    """Run ``code`` in the kernel; return what it printed (and its result); raise on an error."""
    msg_id = client.execute(code, store_history=False)
    output = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:  # other messages (the widgets' own) keep arriving: count time, not silence
            raise TimeoutError(f"the kernel did not finish {code!r} within {timeout} s")
        message = client.get_iopub_msg(timeout=left)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            output.append(content["text"])
        elif kind == "execute_result":
            output.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            raise RuntimeError(f"kernel error running {code!r}:\n" + "\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(output)


def evaluate(client, expression: str, timeout: float = 60):
    """The value of a Python expression in the kernel, through JSON."""
    return json.loads(execute(client, f"import json as _json; print(_json.dumps({expression}))", timeout))


#: A name Chromium resolves to 127.0.0.1 that is not "localhost": pages from it are not a secure context.
REMOTE_HOST = "lmk-classroom.test"


def playwright_api():
    """Playwright's sync API, for Debian's Chromium; a pytest skip that says what is missing without them."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh test installs it as root)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


def lab_folder(tmp_path: Path, notebook: Path) -> Path:
    """A folder for JupyterLab holding a copy of ``notebook`` set to the null sink: CI has no sound
    card, and the browser is the speaker."""
    import nbformat

    root = tmp_path / "lab"
    root.mkdir()
    book = nbformat.read(notebook, as_version=4)
    for cell in book.cells:
        cell.source = cell.source.replace('SINK = "auto"', 'SINK = "null"')
    nbformat.write(book, root / notebook.name)
    return root


def launch_chromium(playwright, *flags: str):
    """Debian's Chromium, headless; ``flags`` add to ours (see :func:`fake_microphone_flags`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        *CHROMIUM_FLAGS, f"--host-resolver-rules=MAP {REMOTE_HOST} 127.0.0.1", *flags])


def fake_microphone_flags(wav: Path) -> list[str]:
    """Chromium's fake capture device, playing ``wav`` (looped) as the microphone, allowed without asking."""
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]


def run_all_cells(page, lab: Lab, notebook: str, timeout: float = 120, host: str = "127.0.0.1") -> None:
    """Open ``notebook`` in the page, run all its cells from the Run menu, and wait until every code
    cell has run."""
    page.goto(lab.notebook_url(notebook, host))
    page.wait_for_selector(".jp-Notebook", timeout=timeout * 1000)
    # The toolbar says "idle" before the notebook has a session: wait for the server's word first.
    lab.wait_for_kernel(notebook, timeout)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout * 1000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    page.wait_for_function(
        r"""() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
          return prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p.textContent));
        }""", timeout=timeout * 1000)
