"""Audio injection over OSC, on real UDP sockets: the controls (set, ramped, timed) and file injection."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile
from test_osc import Client, bundle, message

from livemusic_kernel import Engine
from livemusic_kernel.osc import OscServer


@pytest.fixture
def builtin(tmp_path):
    log = tmp_path / "set.jsonl"
    engine = Engine("builtin", sink="null", quiet=True, log=log).start()
    server = OscServer(engine, port=0, audio_folders=[tmp_path], log=lambda line: None).start()
    yield engine, Client(server.port), log
    server.close()
    engine.close()


def inject_state(client) -> dict:
    address, args = client.ask(message("/lmk/query/inject"))
    assert address == "/lmk/inject"
    return dict(zip(args[::2], args[1::2], strict=True))


def test_the_injection_controls_are_set_ramped_and_timed(builtin):
    engine, client, log = builtin
    for packet in (message("/lmk/inject/mode", "looper"), message("/lmk/inject/gain", 0.5),
                   message("/lmk/inject/feedback", 0.8), message("/lmk/inject/gap", 0.1),
                   message("/lmk/inject/loop_beats", 4.0), message("/lmk/inject/gain", 2.0, 1.0),
                   bundle(time.time() + 0.6, message("/lmk/inject/mode", "free"))):
        client.send(packet)
    time.sleep(1.5)  # the lead, the one-beat ramp at 120 BPM, and the timed change
    state = inject_state(client)
    assert state["mode"] == "free" and state["feedback"] == pytest.approx(0.8)
    assert state["gap"] == pytest.approx(0.1) and state["loop_beats"] == 4.0
    assert state["gain"] == pytest.approx(2.0) and state["sources"] == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    ramps = [e for e in events if e.get("kind") == "automate" and e["data"]["target"] == "inject_gain"]
    assert len(ramps) == 1 and ramps[0]["data"]["to"] == 2.0 and ramps[0]["data"]["beats"] == "1"
    timed = [e for e in events if e.get("kind") == "set_params" and e["data"].get("inject_mode") == "free"]
    assert len(timed) == 1 and timed[0]["asked"] == timed[0]["sample"]  # the bundle's change, on its sample


@pytest.mark.parametrize(("packet", "reason"), [
    (message("/lmk/inject/mode", "sideways"), "looper"),
    (message("/lmk/inject/gain", 99.0), "inject_gain"),
    (message("/lmk/inject/loop_beats", 0.0), "loop_beats"),
    (message("/lmk/inject/file", "/etc/passwd"), "not in an allowed audio folder"),
    (message("/lmk/inject/file", "nowhere.wav"), "allowed audio folder"),
])
def test_bad_injection_messages_get_an_error_naming_the_fix(builtin, packet, reason):
    engine, client, _ = builtin
    address, (failed, why) = client.ask(packet)
    assert address == "/lmk/error" and failed == packet.address and reason in why


def test_a_file_injected_over_osc_is_heard_and_stopped(builtin, tmp_path):
    engine, client, _ = builtin
    rate = engine.sample_rate
    t = np.arange(2 * rate) / rate
    loop = tmp_path / "riff.wav"
    riff = 0.3 * np.sin(2 * np.pi * 220 * t) * (t % 0.5 < 0.25)
    soundfile.write(loop, np.stack([riff, riff], axis=1), rate, subtype="FLOAT")
    address, (failed, why) = client.ask(message("/lmk/inject/file", str(tmp_path / "missing.wav")))
    assert "no such file" in why
    address, (failed, why) = client.ask(message("/lmk/inject/file", str(loop), 2))
    assert "loop is 1" in why
    client.send(message("/lmk/inject/file", str(loop)))
    time.sleep(1.5)
    state = inject_state(client)
    assert state["sources"] == 1 and state["delivered_s"] > 0.5
    client.send(message("/lmk/inject/stop"))
    time.sleep(0.6)
    stopped = inject_state(client)
    time.sleep(0.5)
    assert stopped["sources"] == 0 and inject_state(client)["delivered_s"] == stopped["delivered_s"]
