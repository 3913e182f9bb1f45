"""A browser's side of the widgets' comms, for the Python-side widget tests.

ipywidgets opens each widget's comm with ``comm.create_comm``, which ipykernel
replaces with a comm that publishes on IOPub. Here a :class:`Frontend` replaces
it with one that records what the kernel publishes (state, updates, custom
messages and their buffers), and delivers messages to the widget exactly as
ipykernel does: through the comm's ``handle_msg``, as a message of the
Jupyter widget protocol. The end-to-end tests run the same widgets in a real
JupyterLab and Chromium.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm


class RecordingComm(BaseComm):
    def __init__(self, frontend: Frontend, **kwargs: Any):
        self.frontend = frontend
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: dict | None = None, metadata: dict | None = None,
                    buffers: list | None = None, **keys: Any) -> None:
        self.frontend.record(self.comm_id, msg_type, data or {}, [bytes(b) for b in buffers or ()])


class Frontend:
    """Everything the kernel sent to the browser, and a way to send to the kernel."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, dict, list[bytes]]] = []
        self._lock = threading.Lock()
        self._next_id = 0

    def record(self, comm_id: str, msg_type: str, data: dict, buffers: list[bytes]) -> None:
        with self._lock:
            self.messages.append((comm_id, msg_type, data, buffers))

    def create_comm(self, **kwargs: Any) -> RecordingComm:
        return RecordingComm(self, **kwargs)

    # -- what the views got -----------------------------------------------------------------------
    def custom(self, widget: Any, kind: str | None = None) -> list[tuple[dict, list[bytes]]]:
        """Custom messages sent to ``widget``'s views (of type ``kind``), oldest first."""
        with self._lock:
            found = [(data["content"], buffers) for comm_id, msg_type, data, buffers in self.messages
                     if comm_id == widget.comm.comm_id and msg_type == "comm_msg" and data.get("method") == "custom"]
        return [(content, buffers) for content, buffers in found if kind is None or content.get("type") == kind]

    def state(self, widget: Any) -> dict:
        """The widget's state as a view holds it: the opening state with every update applied."""
        state: dict = {}
        with self._lock:
            for comm_id, msg_type, data, _ in self.messages:
                if comm_id != widget.comm.comm_id:
                    continue
                if msg_type == "comm_open":
                    state.update(data["state"])
                elif msg_type == "comm_msg" and data.get("method") in ("update", "echo_update"):
                    state.update(data["state"])
        return state

    # -- what a view sends ------------------------------------------------------------------------
    def send(self, widget: Any, content: Any, buffers: list[bytes] = ()) -> dict:
        """Send a custom message as a view does and return the kernel's reply to it."""
        if isinstance(content, dict) and "id" not in content:
            self._next_id += 1
            content = {**content, "id": f"test-{self._next_id}"}
        before = len(self.custom(widget, "reply"))
        self._deliver(widget, {"method": "custom", "content": content}, buffers)
        replies = self.custom(widget, "reply")[before:]
        assert len(replies) == 1, f"expected one reply, got {replies}"
        return replies[0][0]

    def update(self, widget: Any, state: dict) -> None:
        """A state update from a view (our views never send one; a rogue one must not hurt)."""
        self._deliver(widget, {"method": "update", "state": state, "buffer_paths": []}, [])

    @staticmethod
    def _deliver(widget: Any, data: dict, buffers: list[bytes]) -> None:
        widget.comm.handle_msg({"content": {"comm_id": widget.comm.comm_id, "data": data},
                                "buffers": [memoryview(b) for b in buffers]})


@pytest.fixture
def engine():
    """An offline click-model engine with one slot ("main": C4), 0.1 s rendered."""
    from livemusic_kernel import Engine

    engine = Engine("click", sink=None, bpm=120, prompts={"main": "C4"})
    engine.render(0.1)
    yield engine
    engine.close()


@pytest.fixture
def frontend(monkeypatch):
    """Every widget made during the test opens its comm to this recording frontend."""
    recorder = Frontend()
    monkeypatch.setattr(comm, "create_comm", recorder.create_comm)
    return recorder


def ok(reply: dict) -> Any:
    assert reply["ok"] is True, reply
    return reply.get("result")


def refused(reply: dict, *words: str) -> str:
    """The error of a refused request, checked to mention ``words``."""
    assert reply["ok"] is False, reply
    for word in words:
        assert word in reply["error"], reply["error"]
    return reply["error"]


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.01)
