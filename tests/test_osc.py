"""The OSC server, over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from livemusic_kernel import Engine, osc
from livemusic_kernel.errors import LmkError
from livemusic_kernel.osc import TABLE, OscServer

ROOT = Path(__file__).resolve().parents[1]


def message(address, *args):
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build()


def bundle(at: float, *messages):
    builder = OscBundleBuilder(at)
    for m in messages:
        builder.add_content(m)
    return builder.build()


class Client:
    def __init__(self, port):
        self.port = port
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(2.0)

    def send(self, packet):
        self.socket.sendto(packet if isinstance(packet, bytes) else packet.dgram, ("127.0.0.1", self.port))

    def receive(self):
        data, _ = self.socket.recvfrom(65536)
        m = OscPacket(data).messages[0].message
        return m.address, list(m.params)

    def ask(self, packet):
        self.send(packet)
        return self.receive()


@pytest.fixture
def live():
    engine = Engine("click", sink="null", quiet=True)
    engine.start()
    server = OscServer(engine, port=0, log=lambda line: None).start()
    yield engine, server, Client(server.port)
    server.close()
    engine.close()


def settle():
    time.sleep(0.35)  # the lead plus a block: what is posted now has landed


def test_the_table_and_reference_page_are_generated_from_the_one_source():
    result = subprocess.run([sys.executable, ROOT / "scripts" / "generate_osc.py", "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    reference = (ROOT / "osc" / "REFERENCE.md").read_text()
    assert all(f"`{address}`" in reference for address in TABLE)


def test_prompts_weights_tempo_and_controls_reach_the_engine(live):
    engine, server, client = live
    client.send(message("/lmk/prompt", "main", "C5", 0.5))
    client.send(message("/lmk/prompt", "air", "C6"))
    client.send(message("/lmk/weight", "air", 0.25))
    client.send(message("/lmk/bpm", 97.5))
    client.send(message("/lmk/temperature", 1.3))
    client.send(message("/lmk/top_k", 20))
    settle()
    assert {n: s.weight for n, s in engine.slots.items()} == {"main": 0.5, "air": 0.25}
    # OSC floats are 32-bit: 1.3 arrives as 1.2999999523...
    assert engine.bpm == 97.5 and engine.controls.temperature == pytest.approx(1.3) and engine.controls.top_k == 20
    client.send(message("/lmk/blend", "C4", 0.7, "G4", 0.3))
    client.send(message("/lmk/clear", "b2"))
    settle()
    assert list(engine.slots) == ["b1"]
    assert server.errors == 0


def test_queries_reply_to_the_sender(live):
    engine, server, client = live
    client.send(message("/lmk/prompt", "main", "C5", 0.5))
    settle()
    address, args = client.ask(message("/lmk/query/state"))
    state = dict(zip(args[::2], args[1::2], strict=True))
    assert address == "/lmk/state" and state["backend"] == "click" and state["running"] == 1
    assert client.ask(message("/lmk/query/slots")) == ("/lmk/slots", ["main", "C5", 0.5])
    address, (bpm, beat, bar, per_bar, horizon) = client.ask(message("/lmk/query/clock"))
    assert bpm == 120 and per_bar == 4 and horizon >= beat > 0
    address, args = client.ask(message("/lmk/query/figures"))
    assert address == "/lmk/figures" and "latency_p95_ms" in args


@pytest.mark.parametrize("packet, reason", [
    (message("/lmk/promt", "main", "techno"), "unknown address; did you mean /lmk/prompt"),
    (message("/x"), "unknown address; see osc/REFERENCE.md"),
    (message("/lmk/prompt", "main"), "needs text"),
    (message("/lmk/weight", "main", 0.5, 9), "takes at most 2 arguments, got 3"),
    (message("/lmk/weight", 3, 0.5), "slot must be a string"),
    (message("/lmk/bpm", "fast"), "bpm must be a number"),
    (message("/lmk/bpm", 5000.0), "between 1 and 999 BPM"),
    (message("/lmk/top_k", 2.5), "must be a whole number"),
    (message("/lmk/temperature", float("nan")), "must be finite"),
    (message("/lmk/weight", "ghost", 0.5), "no prompt slot 'ghost'"),
    (message("/lmk/prompt", "main", "x.wav"), "audio file not found"),
    (message("/lmk/prompt/audio", "main", "/etc/passwd"), "not in an allowed audio folder"),
    (message("/lmk/blend", "C4", 0.5, "G4"), "text/weight pairs"),
    (message("/lmk/morph", "main", "C4", 4.0, "wobbly"), "unknown curve 'wobbly'"),
    (message("/lmk/tidal", "prompt", "C4", "loudness", 3), "unknown Tidal parameters: loudness"),
    (message("/lmk/subscribe", 70000), "port must be between"),
    (b"\x00\x01garbage", "malformed OSC packet"),
])
def test_every_bad_message_gets_an_error_reply_and_the_music_goes_on(live, packet, reason):
    engine, server, client = live
    address, (about, why) = client.ask(packet)
    assert address == "/lmk/error" and reason in why
    played = engine.played
    assert client.ask(message("/lmk/query/clock"))[0] == "/lmk/clock"
    time.sleep(0.05)
    assert engine.running and engine.played > played


def test_audio_prompts_come_only_from_allowed_folders(tmp_path):
    import soundfile

    loop = tmp_path / "loop.wav"
    soundfile.write(loop, 0.3 * np.sin(2 * np.pi * 523.25 * np.arange(48000) / 48000), 48000)
    engine = Engine("click", sink="null", quiet=True).start()
    with OscServer(engine, port=0, audio_folders=[tmp_path], log=lambda line: None) as server:
        Client(server.port).send(message("/lmk/prompt/audio", "loop", str(loop), 0.8))
        settle()
        assert engine.slots["loop"].style.vector[0] == pytest.approx(72, abs=0.1)  # C5, by analysis
    engine.close()


def test_a_future_timetag_lands_on_the_sample_heard_at_that_time(tmp_path):
    engine = Engine("click", sink="null", quiet=True, log=tmp_path / "s.jsonl").start()
    server = OscServer(engine, port=0, log=lambda line: None).start()
    client = Client(server.port)
    stamps = []
    for k in range(5):
        stamp = time.time() + 0.4 + 0.25 * k
        stamps.append(stamp)
        client.send(bundle(stamp, message("/lmk/prompt", "main", f"midi {60 + k}")))
    time.sleep(2.0)
    origin = engine.heard_time(0)  # when sample 0 was heard, on the monotonic clock
    offset = time.time() - time.monotonic()
    server.close()
    engine.close()
    import json

    changes = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()
               if '"set_slot"' in line]
    assert len(changes) == 5
    for change, stamp in zip(changes, stamps, strict=True):
        heard = origin + change["sample"] / engine.sample_rate + offset
        assert abs(heard - stamp) < engine.block_size / engine.sample_rate  # within one block


def test_tidal_events_set_prompts_and_controls(live):
    engine, server, client = live
    client.send(bundle(IMMEDIATELY, message("/lmk/tidal", "_id_", "1", "cps", 0.5625, "cycle", 1.0, "delta", 1.78,
                                             "prompt", "C5", "weight", 0.8)))
    client.send(message("/lmk/tidal", "slot", "air", "prompt", "C6", "temperature", 1.2, "seed", 4))
    settle()
    assert engine.slots["main"].weight == pytest.approx(0.8) and engine.slots["main"].prompt.text == "C5"
    assert "air" in engine.slots and engine.controls.temperature == pytest.approx(1.2) and engine.controls.seed == 4


def test_subscribers_get_beats_and_errors(live):
    engine, server, client = live
    listener = Client(server.port)
    client.send(message("/lmk/subscribe", listener.socket.getsockname()[1]))
    beats = []
    while len(beats) < 2:
        address, args = listener.receive()
        if address == "/lmk/beat":
            beats.append(args[0])
    assert beats[1] == beats[0] + 1
    client.send(message("/x"))
    assert ("/lmk/error", ["/x", "unknown address; see osc/REFERENCE.md"]) in \
        [listener.receive() for _ in range(8)]
    client.send(message("/lmk/unsubscribe", listener.socket.getsockname()[1]))


def test_other_interfaces_need_an_allow_list():
    engine = Engine("click", sink=None)
    with pytest.raises(ValueError, match="give allow="):
        OscServer(engine, host="0.0.0.0", port=0)
    server = OscServer(engine, host="0.0.0.0", port=0, allow=["192.0.2.50"], log=lambda line: None)
    server.handle(message("/lmk/bpm", 100.0).dgram, ("198.51.100.7", 9999))  # not allowed: dropped
    assert server.errors == 0 and server.received == 1
    server.close()


def _held_tcp_port() -> socket.socket:
    """A TCP socket holding a port whose UDP twin is free (as a client connection's end holds one)."""
    while True:
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", held.getsockname()[1]))
            return held
        except OSError:
            held.close()
        finally:
            probe.close()


def test_a_taken_port_is_an_error_that_names_the_fix():
    engine = Engine("click", sink=None)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        with pytest.raises(LmkError, match=r"cannot listen for OSC on 127\.0\.0\.1:\d+ .*choose another port"):
            OscServer(engine, port=taken.getsockname()[1])
    with _held_tcp_port() as held:
        with pytest.raises(LmkError, match=r"over TCP on 127\.0\.0\.1:\d+ .*choose another port"):
            OscServer(engine, port=held.getsockname()[1])
        OscServer(engine, port=held.getsockname()[1], tcp=False, log=lambda line: None).close()  # UDP alone


def test_any_port_skips_one_another_program_holds_for_tcp(monkeypatch):
    """port=0 asks for any free port: when the one the system picks for UDP is held for TCP, the
    server picks another (CI once met exactly this, a client's ephemeral port)."""
    engine = Engine("click", sink=None)
    picks = []

    def pick(host, port):
        udp = open_udp(host, held.getsockname()[1] if not picks else port)
        picks.append(udp.getsockname()[1])
        return udp

    open_udp = osc._open_udp
    monkeypatch.setattr(osc, "_open_udp", pick)
    with _held_tcp_port() as held:
        server = OscServer(engine, port=0, log=lambda line: None).start()
        try:
            assert picks[0] == held.getsockname()[1] and server.port == picks[-1] != picks[0]
            with socket.create_connection(("127.0.0.1", server.port), timeout=5):
                pass  # TCP listens on the port it reports
        finally:
            server.close()
        monkeypatch.setattr(osc, "_open_udp", lambda host, port: open_udp(host, held.getsockname()[1]))
        with pytest.raises(LmkError, match="over TCP"):
            OscServer(engine, port=0)


def test_ten_thousand_random_and_malformed_packets_crash_nothing(live):
    engine, server, client = live
    rng = random.Random(12)
    # /lmk/stop is left out: stopping is what it is for, and which of stop and play arrived last
    # would be down to the packets the flood made the kernel drop.
    addresses = [a for a in TABLE if a != "/lmk/stop"] + ["/lmk", "/", "/lmk/prompt/x", "//lmk"]
    values = [0, -1, 3e38, float("inf"), float("nan"), "", "x" * 300, "C4", 2**31 - 1, b"\x00\xff", True]
    valid = [m.dgram for m in (message("/lmk/prompt", "main", "C4"), message("/lmk/bpm", 120.0))]
    for i in range(10_000):
        kind = i % 4
        if kind == 0:
            packet = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        elif kind == 1:
            packet = rng.choice(valid)[:rng.randint(0, 30)]
        else:
            args = [rng.choice(values) for _ in range(rng.randint(0, 5))]
            packet = message(rng.choice(addresses), *args).dgram
        client.send(packet)
        if i % 500 == 0:
            time.sleep(0.01)  # let the server drain; a flood that overflows the socket buffer only drops packets
    time.sleep(0.5)
    assert client.ask(message("/lmk/query/clock"))[0] in ("/lmk/clock", "/lmk/error")
    played = engine.played
    time.sleep(0.1)
    assert engine.running and engine.played > played and server.received > 5000
    assert engine.figures.errors == 0  # the model never saw a bad control


def test_lmk_serve_listens_answers_and_stops_cleanly_on_sigterm(tmp_path):
    """The whole command: a real process, a real socket, a signal, a finished recording."""
    import signal as signals

    from livemusic_kernel import read_wav

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    lmk = Path(sys.executable).parent / "lmk"
    server = subprocess.Popen([lmk, "serve", "--sink", "null", "--port", str(port), "--status", "0",
                               "--record", tmp_path / "set.wav"], stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("listening for OSC" in line for line in lines):
            line = server.stderr.readline()
            assert line, f"lmk serve ended early: {lines}"
            lines.append(line)
        assert f"udp://127.0.0.1:{port}" in lines[-1]
        client = Client(port)
        client.send(message("/lmk/prompt", "main", "C5", 0.5))
        time.sleep(0.4)
        # The default prompt (p1) plays from the start, so a headless server is never silent.
        assert client.ask(message("/lmk/query/slots")) == ("/lmk/slots", ["p1", "minimal techno", 1.0,
                                                                          "main", "C5", 0.5])
        assert client.ask(message("/lmk/bpm", -3.0))[0] == "/lmk/error"
    finally:
        server.send_signal(signals.SIGTERM)
        rest = server.communicate(timeout=20)[1]
    assert server.returncode == 0, rest
    assert "recording finished" in rest
    audio, rate = read_wav(tmp_path / "set.wav")
    assert rate == 48000 and len(audio) > 0.5 * rate


def test_notes_from_osc_and_from_tidal_events(live):
    engine, server, client = live
    client.send(message("/lmk/note/on", 60))
    client.send(message("/lmk/note/on", 67))
    client.send(message("/lmk/note/off", 60))
    settle()
    assert engine.controls.notes == frozenset({67})
    client.send(message("/lmk/notes/off"))
    settle()
    assert engine.controls.notes == frozenset()
    client.send(message("/lmk/tidal", "note", 62, "delta", 0.3))  # held for the event's 0.3 s
    time.sleep(0.15)
    assert engine.controls.notes == frozenset({62})
    time.sleep(0.5)
    assert engine.controls.notes == frozenset()
    assert client.ask(message("/lmk/note/on", 200))[1][1].startswith("a note is a MIDI note number")


def tcp_connect(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    return connection


def read_length_framed(connection):
    size = int.from_bytes(connection.recv(4, socket.MSG_WAITALL), "big")
    m = OscPacket(connection.recv(size, socket.MSG_WAITALL)).messages[0].message
    return m.address, list(m.params)


def test_tcp_with_length_framing_as_supercollider_sends(live):
    engine, server, _ = live
    with tcp_connect(server.port) as connection:
        for packet in (message("/lmk/prompt", "main", "C5", 0.5), message("/lmk/weight", "main", 0.25)):
            connection.sendall(len(packet.dgram).to_bytes(4, "big") + packet.dgram)
        time.sleep(0.35)
        query = message("/lmk/query/slots").dgram
        connection.sendall(len(query).to_bytes(4, "big") + query)
        assert read_length_framed(connection) == ("/lmk/slots", ["main", "C5", 0.25])
        bad = message("/lmk/bpm", "fast").dgram
        connection.sendall(len(bad).to_bytes(4, "big") + bad)
        assert read_length_framed(connection)[0] == "/lmk/error"


def test_tcp_with_slip_framing(live):
    engine, server, _ = live
    with tcp_connect(server.port) as connection:
        # A prompt whose bytes include SLIP's END and ESC, which the framing must escape.
        packet = message("/lmk/query/clock").dgram
        odd = message("/lmk/prompt", "main", "C5", 0.5).dgram
        for data in (odd, packet):
            connection.sendall(b"\xc0" + data.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0")
        reply = b""
        while reply.count(b"\xc0") < 2:
            reply += connection.recv(65536)
        frame = reply.strip(b"\xc0").replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
        assert OscPacket(frame).messages[0].message.address == "/lmk/clock"


def test_a_bad_tcp_frame_gets_an_error_and_the_connection_closes(live):
    engine, server, client = live
    with tcp_connect(server.port) as connection:
        connection.sendall((2**30).to_bytes(4, "big") + b"junk")
        address, (about, reason) = read_length_framed(connection)
        assert address == "/lmk/error" and "bad TCP frame size" in reason
        assert connection.recv(10) == b""  # closed
    assert client.ask(message("/lmk/query/clock"))[0] == "/lmk/clock"  # the server goes on
