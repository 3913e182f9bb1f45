"""Ableton Link over OSC: /lmk/link and /lmk/query/link on real UDP sockets, with `lmk serve --link`
and a real second Link peer inside a private network namespace."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap

import pytest
from test_osc import Client, message

from livemusic_kernel import Engine
from livemusic_kernel.osc import OscServer


def test_without_link_the_query_says_so_and_joining_names_the_fix():
    engine = Engine("click", sink="null", quiet=True, bpm=120).start()
    try:
        with OscServer(engine, port=0, log=lambda line: None) as server:
            client = Client(server.port)
            assert client.ask(message("/lmk/query/link")) == ("/lmk/link", [0, 0, 120.0, 0.0])
            address, (failed, reason) = client.ask(message("/lmk/link", 1))
            assert (address, failed) == ("/lmk/error", "/lmk/link") and "lmk serve --link" in reason
    finally:
        engine.close()


# Runs inside the namespace: a Link peer at 100 BPM, then `lmk serve --link`, steered and asked over UDP.
SESSION = textwrap.dedent(r"""
    import json, socket, subprocess, sys, tempfile, time
    from pythonosc.osc_message_builder import OscMessageBuilder
    from pythonosc.osc_packet import OscPacket
    from livemusic_kernel.bench import LINK_PEER

    def message(address, *args):
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        return builder.build().dgram

    trace = tempfile.NamedTemporaryFile("w", suffix=".txt")  # read through a file of our own: its offset is the peer's
    peer = subprocess.Popen([sys.executable, "-c", LINK_PEER, "100", "40"], stdout=trace, text=True)

    def peer_rows():
        with open(trace.name) as lines:
            return [[float(x) for x in line.split()] for line in lines.read().splitlines() if len(line.split()) == 4]

    def peer_hears(bpm, seconds=10.0):  # Link carries a tempo to the other peers in a moment, not at once
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if any(abs(row[2] - bpm) < 1e-3 for row in peer_rows()[-20:]):
                return True
            time.sleep(0.05)
        return False

    time.sleep(2.0)  # an older session by more than Link's half a second: ours joins it, never the other way round
    serve = subprocess.Popen([sys.executable, "-m", "livemusic_kernel.cli", "serve", "--link", "-b", "click",
                              "--sink", "null", "--status", "0", "--seconds", "30", "--bpm", "120",
                              "--port", PORT], stderr=subprocess.PIPE, text=True)
    while "listening for OSC" not in (line := serve.stderr.readline()):
        assert line, "lmk serve ended before listening"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    heard = []  # every message back: replies and notifications

    def send(address, *args):
        sock.sendto(message(address, *args), ("127.0.0.1", int(PORT)))

    def wait_for(address, test=lambda args: True, seconds=10.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                m = OscPacket(sock.recvfrom(65536)[0]).messages[0].message
            except TimeoutError:
                continue
            heard.append((m.address, list(m.params)))
            if m.address == address and test(list(m.params)):
                return list(m.params)
        return None

    def ask_link(test=lambda args: True, seconds=10.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            send("/lmk/query/link")
            reply = wait_for("/lmk/link", lambda args: True, 0.5)
            if reply is not None and test(reply):
                return reply
        return None

    def ask_bpm(bpm, seconds=10.0):  # the engine takes a new tempo once its lead has played out
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            send("/lmk/query/state")
            state = wait_for("/lmk/state", lambda args: True, 0.5) or []
            reply = dict(zip(state[::2], state[1::2]))
            if abs(reply.get("bpm", 0) - bpm) < 1e-3:
                return reply["bpm"]
            time.sleep(0.1)
        return reply.get("bpm")

    out = {}
    send("/lmk/subscribe", sock.getsockname()[1])
    out["joined"] = ask_link(lambda r: r[1] == 1)
    out["bpm_joined"] = ask_bpm(100.0)
    send("/lmk/bpm", 110.0)
    out["proposed"] = ask_link(lambda r: abs(r[2] - 110) < 1e-6)
    out["peer_heard_proposal"] = peer_hears(110.0)
    send("/lmk/bpm", 110.0, 4.0)
    out["ramp_error"] = wait_for("/lmk/error")
    send("/lmk/link", 2)
    out["bad_enabled"] = wait_for("/lmk/error")
    send("/lmk/link", 0)
    out["left"] = ask_link(lambda r: r[0] == 0)
    time.sleep(1.0)
    left_at = time.monotonic()
    send("/lmk/bpm", 90.0)
    out["bpm_left"] = ask_bpm(90.0)
    send("/lmk/link", 1)
    out["rejoined"] = ask_link(lambda r: r[0] == 1 and r[1] == 1)
    wait_for("", seconds=0.3)
    out["notified"] = [args for address, args in heard if address == "/lmk/link"]
    serve.terminate()
    serve.wait(timeout=20)
    peer.terminate()
    peer.wait(timeout=10)
    after = [row[2] for row in peer_rows() if left_at + 0.2 < row[0] < left_at + 2.0]
    out["peer_tempo_after_leaving"] = sorted({round(bpm, 3) for bpm in after})
    print(json.dumps(out))
""")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                    reason="needs root and iproute2 for a private network namespace "
                           "(Link multicasts on every interface); CI runs as root")
def test_lmk_serve_link_joins_reports_peers_proposes_leaves_and_rejoins_over_osc():
    pytest.importorskip("link", reason="linkpython-extern is not installed (it is in the dev extra)")
    from livemusic_kernel.bench import private_network

    result = private_network([sys.executable, "-c", SESSION.replace("PORT", repr("57139"))])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    enabled, peers, tempo, quantum = out["joined"]
    assert (enabled, peers, quantum) == (1, 1, 4.0) and tempo == pytest.approx(100.0)  # the peer's session
    assert out["bpm_joined"] == pytest.approx(100.0, abs=1e-3)
    assert out["proposed"][2] == pytest.approx(110.0)
    assert out["peer_heard_proposal"]  # the other app in the session took the tempo we proposed
    assert out["ramp_error"][0] == "/lmk/bpm" and "ramps are not shared over Link" in out["ramp_error"][1]
    assert out["bad_enabled"][0] == "/lmk/link" and "1 (join" in out["bad_enabled"][1]
    assert out["left"][:2] == [0, 0]
    assert out["bpm_left"] == pytest.approx(90.0, abs=1e-3)  # our own tempo, out of the session ...
    assert out["peer_tempo_after_leaving"] == [110.0]    # ... which the peer never heard
    assert out["rejoined"][:2] == [1, 1]
    changes = [n[:2] for n in out["notified"]]
    assert [1, 1] in changes and [0, 0] in changes  # subscribers heard the session change
