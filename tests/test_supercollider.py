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
    reply, a query and notifications by topic (beats, bars, levels), all through a real sclang."""
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
    assert int(out.split("LMK bars heard: ")[1].split()[0]) >= 1  # 3 s at 126 BPM: at least one downbeat
    assert -60 < float(out.split("LMK loudest peak: ")[1].split()[0]) <= 0  # the clicks, as heard
    assert engine.bpm == 126.0 and failures and "nowhere" in failures[0]
    weights = [json.loads(line) for line in log.read_text().splitlines() if '"set_weight"' in line]
    assert len(weights) == 1 and weights[0]["asked"] == weights[0]["sample"]  # the timed change, on its sample


def test_the_quark_names_its_class_and_help():
    quark = (KIT / "LiveMusicKernel" / "LiveMusicKernel.quark").read_text()
    assert 'schelp: "LMK"' in quark
    help_file = (KIT / "LiveMusicKernel" / "HelpSource" / "Classes" / "LMK.schelp").read_text()
    source = (KIT / "LiveMusicKernel" / "classes" / "LMK.sc").read_text()
    for method in ("prompt", "weight", "morph", "tempo", "noteOn", "at", "query", "subscribe", "unsubscribe",
                   "onBeat", "onBar", "onBlock", "onLevels", "onLatency", "free",
                   "audio", "inject", "stopInject", "injectMode", "injectGain", "injectFile"):
        assert f"METHOD:: {method}" in help_file and f"\t{method} {{" in source


RECORD = """(
var options = ServerOptions.new.maxLogins_(1).numInputBusChannels_(2).numOutputBusChannels_(2);
var s = Server(\\lmk, NetAddr("127.0.0.1", PORT), options);
s.startAliveThread;
fork {
    var buf;
    1.wait;
    buf = Buffer.alloc(s, 48000 * 2, 2);
    SynthDef(\\lmkRecord, { |buf| RecordBuf.ar(LMK.jackAr, buf, loop: 0, doneAction: 2) }).send(s);
    s.sync;
    Synth(\\lmkRecord, [\\buf, buf], RootNode(s));  // a server sclang did not boot has no default group
    2.5.wait;
    buf.write("OUT", "wav", "float");
    s.sync;
    0.5.wait;
    "LMK recorded".postln;
    0.exit;
};
)"""

ENGINE = """
import time
from livemusic_kernel import Engine
from livemusic_kernel.models.click import ClickBackend
engine = Engine("click", sink="soundcard", device="SuperCollider", quiet=True, record=OUT)
engine.set_style(ClickBackend().style_for(decay=0.2, noise=0.5))  # seeded noise: every beat unique
engine.start()
print(engine.sink.describe(), flush=True)
time.sleep(SECONDS)
engine.close()
"""


@pytest.fixture(scope="module")
def scsynth_on_jack(jack_server):
    """scsynth registered on the JACK server as client "SuperCollider"."""
    if shutil.which("scsynth") is None:
        pytest.skip("scsynth is not installed (.ci/run installs supercollider-server)")
    port = 57197
    synth = subprocess.Popen(["scsynth", "-u", str(port), "-i", "2", "-o", "2", "-l", "8"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "JACK_NO_START_SERVER": "1"})  # never a server of its own
    lines = []
    while not any("server ready" in line for line in lines):
        line = synth.stdout.readline()
        if not line:
            pytest.fail(f"scsynth did not start: {lines}")
        lines.append(line)
    yield port
    synth.terminate()
    synth.wait(timeout=10)


def test_the_frames_in_scsynths_buffer_are_the_engines_output(tmp_path, scsynth_on_jack):
    """The JACK route: PortAudio writes the engine's output into scsynth's inputs; a SynthDef
    records LMK.jackAr into a buffer; its frames are the engine's recording, bit for bit."""
    import sys

    import numpy as np

    from livemusic_kernel import read_wav

    engine_wav, buffer_wav = tmp_path / "engine.wav", tmp_path / "buffer.wav"
    engine = subprocess.Popen([sys.executable, "-c", ENGINE.replace("OUT", repr(str(engine_wav)))
                              .replace("SECONDS", "8")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "sound card 'SuperCollider'" in engine.stdout.readline()
    script = tmp_path / "record.scd"
    script.write_text(RECORD.replace("PORT", str(scsynth_on_jack)).replace("OUT", str(buffer_wav)))
    conf = tmp_path / "sclang_conf.yaml"
    conf.write_text(f"includePaths:\n    - {KIT / 'LiveMusicKernel' / 'classes'}\nexcludeDefaultPaths: false\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    result = subprocess.run(["sclang", "-l", str(conf), str(script)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    engine.wait(timeout=60)
    assert "LMK recorded" in result.stdout, result.stdout[-2000:]
    played, _ = read_wav(engine_wav)
    recorded, rate = read_wav(buffer_wav)
    sounding = np.flatnonzero(np.abs(recorded[:, 0]) > 0)
    assert rate == 48000 and len(sounding) > 0
    segment = recorded[sounding[0]:sounding[0] + 24000]
    assert len(segment) == 24000
    starts = [i for i in np.flatnonzero(played[:, 0] == segment[0, 0]) if np.array_equal(played[i:i + 24000], segment)]
    assert len(starts) == 1  # half a second of scsynth's buffer is exactly one stretch of the engine's output


ROUTE = """(
var options = ServerOptions.new.maxLogins_(1).numInputBusChannels_(2).numOutputBusChannels_(2);
var s = Server(\\lmk, NetAddr("127.0.0.1", PORT), options);
var l = LMK("127.0.0.1", LMKPORT);
s.startAliveThread;
fork {
    var buf, flowing = Condition.new;
    1.wait;
    l.audio(s, 4, { flowing.unhang });
    flowing.hang;
    buf = Buffer.alloc(s, 48000 * 3, 2);
    SynthDef(\\lmkRecord, { |buf| RecordBuf.ar(LMK.ar, buf, loop: 0, doneAction: 2) }).send(s);
    s.sync;
    Synth.tail(RootNode(s), \\lmkRecord, [\\buf, buf]);
    3.5.wait;
    buf.write("OUT", "wav", "float");
    s.sync;
    0.7.wait;
    "LMK recorded".postln;
    0.exit;
};
)"""


def run_sclang(script: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """A script with the kit's class, headless."""
    path = tmp_path / "script.scd"
    path.write_text(script)
    conf = tmp_path / "sclang_conf.yaml"
    conf.write_text(f"includePaths:\n    - {KIT / 'LiveMusicKernel' / 'classes'}\nexcludeDefaultPaths: false\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    try:
        return subprocess.run(["sclang", "-l", str(conf), str(path)], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:  # what it printed says where it hung
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout or ""
        return subprocess.CompletedProcess(expired.cmd, -1, out + f"\n(sclang timed out after {timeout} s)", "")


def noisy_engine(**options) -> Engine:
    """The click model with seeded noise: every beat is unique, so a stretch of audio has one place."""
    from livemusic_kernel.models.click import ClickBackend

    engine = Engine("click", sink="null", quiet=True, **options)
    engine.set_style(ClickBackend().style_for(decay=0.2, noise=0.5))
    return engine


def test_the_file_and_buffer_route_plays_the_engines_output_in_scsynth(tmp_path, scsynth_on_jack):
    """The default route: the engine writes its blocks to files, scsynth reads them into a ring
    at their sample's position and LMK.ar plays the ring at the position heard. Three seconds
    recorded from LMK.ar in scsynth are one unbroken stretch of the engine's output, bit for bit."""
    import numpy as np

    from livemusic_kernel import read_wav

    engine_wav, buffer_wav = tmp_path / "engine.wav", tmp_path / "buffer.wav"
    engine = noisy_engine(record=engine_wav).start()
    server = OscServer(engine, port=0, log=lambda line: None).start()
    try:
        result = run_sclang(ROUTE.replace("LMKPORT", str(server.port)).replace("PORT", str(scsynth_on_jack))
                            .replace("OUT", str(buffer_wav)), tmp_path)
        route = server.route
        anchors, spare = (route.anchors, route.least_spare) if route else (None, None)
    finally:
        server.close()
        engine.close()
    assert "LMK recorded" in result.stdout, result.stdout[-3000:]
    assert "ERROR" not in result.stdout and "FAILURE" not in result.stdout, result.stdout[-3000:]
    played, _ = read_wav(engine_wav)
    recorded, rate = read_wav(buffer_wav)
    sounding = np.flatnonzero(np.abs(recorded[:, 0]) > 0)
    assert rate == 48000 and len(sounding) > 0
    segment = recorded[sounding[0]:sounding[0] + 2 * 48000]
    assert len(segment) == 2 * 48000
    starts = [i for i in np.flatnonzero(played[:, 0] == segment[0, 0])
              if np.array_equal(played[i:i + len(segment)], segment)]
    assert anchors == 1  # the phase synth started once: the engine's audio never broke
    # Two seconds of scsynth's playing: one stretch of the engine's output.
    assert len(starts) == 1, f"least time to spare {spare} s, {engine.figures.underruns} underruns"


def test_the_route_refuses_what_it_cannot_play_to(scsynth_on_jack):
    """Over real sockets: no scsynth at that port, another machine, a buffer scsynth lacks,
    a mono buffer, a ring too short, and injection before the route; each gets /lmk/error."""
    from test_osc import Client, message

    engine = Engine("click", sink="null", quiet=True).start()
    try:
        with OscServer(engine, port=0, log=lambda line: None) as server:
            client = Client(server.port)
            synth = Client(scsynth_on_jack)
            synth.send(message("/b_alloc", 90, 48000, 1))
            synth.send(message("/b_alloc", 91, 4800, 2))
            assert synth.receive()[0] == "/done" and synth.receive()[0] == "/done"

            def refused(*args) -> str:
                address, params = client.ask(message("/lmk/sc/audio", *args))
                assert (address, params[0]) == ("/lmk/error", "/lmk/sc/audio"), params
                return params[1]

            assert "no scsynth answered at 127.0.0.1:9" in refused(9, 0, 64, 5000)
            assert "scsynth on this machine" in refused(scsynth_on_jack, 0, 64, 5000, "192.0.2.1")
            assert "no buffer 77" in refused(scsynth_on_jack, 77, 64, 5000)
            assert "holds 1 channels at 48000 Hz" in refused(scsynth_on_jack, 90, 64, 5000)
            assert "at least a second" in refused(scsynth_on_jack, 91, 64, 5000)
            address, params = client.ask(message("/lmk/sc/inject", 91))
            assert address == "/lmk/error" and "send /lmk/sc/audio first" in params[1]
            assert server.route is None
    finally:
        engine.close()


INJECT = """(
var options = ServerOptions.new.maxLogins_(1).numInputBusChannels_(2).numOutputBusChannels_(2);
var s = Server(\\lmk, NetAddr("127.0.0.1", PORT), options);
var l = LMK("127.0.0.1", LMKPORT);
s.startAliveThread;
fork {
    var bus, loop, clicks, ready = Condition.new;
    1.wait;
    l.audio(s, 4, { ready.unhang });
    ready.hang;
    bus = Bus.audio(s, 2);
    SynthDef(\\lmkLoop, { |out| Out.ar(out, LMK.ar) }).send(s);
    SynthDef(\\lmkClicks, { |out|
        Out.ar(out, WhiteNoise.ar(0.3 ! 2) * Decay2.ar(Impulse.ar(4), 0.001, 0.04))
    }).send(s);
    s.sync;
    loop = Synth.tail(RootNode(s), \\lmkLoop, [\\out, bus]);   // the model's own output, played back in
    l.inject(bus, { ready.unhang });
    ready.hang;
    3.wait;
    loop.free;
    clicks = Synth.head(RootNode(s), \\lmkClicks, [\\out, bus]);
    3.wait;
    "LMK injected".postln;
    l.free;
    0.7.wait;
    0.exit;
};
)"""


def test_a_bus_in_scsynth_reaches_the_engines_injection_aligned_and_never_played(tmp_path, scsynth_on_jack):
    """LMK.inject(bus): first the bus carries LMK.ar itself, so every piece the model hears is the engine's
    own output at exactly the sample it was stamped with (the performer is aligned with what they heard,
    to the sample); then noise clicks at 4 Hz, which the model hears and never plays."""
    import numpy as np

    from livemusic_kernel import read_wav
    from livemusic_kernel._injection_bench import containment

    log, engine_wav = tmp_path / "set.jsonl", tmp_path / "engine.wav"
    engine = Engine("builtin", sink="null", quiet=True, log=log, record=engine_wav).start()
    lines: list[str] = []
    server = OscServer(engine, port=0, log=lines.append).start()
    try:
        result = run_sclang(INJECT.replace("LMKPORT", str(server.port)).replace("PORT", str(scsynth_on_jack)),
                            tmp_path, timeout=60)
        delivered = engine._injector.delivered_frames
    finally:
        server.close()
        engine.close()
    assert "LMK injected" in result.stdout, (lines, list(engine.messages), result.stdout[-1000:])
    assert delivered > 3 * 48000
    played, _ = read_wav(engine_wav)
    heard, _ = read_wav(tmp_path / "set.input.wav")
    pieces = [e for e in map(json.loads, log.read_text().splitlines()) if e["type"] == "input"]
    offsets = np.cumsum([0] + [p["frames"] for p in pieces])
    exact, other = [], []
    for piece, offset in zip(pieces, offsets, strict=False):
        audio = heard[offset:offset + piece["frames"]]
        (exact if np.array_equal(audio, played[piece["start"]:piece["start"] + len(audio)]) else other).append(
            (piece["start"], audio))
    assert sum(len(a) for _, a in exact) > 2 * 48000  # seconds of loopback, each piece at its own sample
    clicks = np.concatenate([a for _, a in other if a.any()])
    assert len(clicks) > 2 * 48000
    envelope = np.abs(clicks[:len(clicks) // 480 * 480, 0]).reshape(-1, 480).max(axis=1)  # 10 ms frames
    onsets = np.flatnonzero((envelope[1:] > 0.1) & (envelope[:-1] < 0.05))
    assert np.median(np.diff(onsets)) == pytest.approx(25, abs=1)  # 4 Hz: scsynth's clicks
    # Is the waveform of the clicks in what the model played? Against chance: the same clicks, each 1/4 s period
    # moved to another place, which keeps their rhythm, spectrum and envelope (which the model may well follow)
    # and changes the waveform at every beat (which the model would reproduce only if the clicks leaked through).
    period = 48000 // 4
    beats = len(clicks) // period
    probe = clicks[:beats * period]
    start = other[0][0]
    during = played[start:start + len(probe)]
    orders = np.random.default_rng(0).permuted(np.tile(np.arange(beats), (10, 1)), axis=1)
    chance = max(containment(probe.reshape(beats, period, 2)[order].reshape(-1, 2), during, differences=True)
                 for order in orders)
    heard_in_output = containment(probe, during, differences=True)
    leak = 0.1 * np.sqrt(np.mean(during ** 2) / np.mean(probe ** 2))  # the clicks at -20 dB
    leaked = containment(probe, during + leak * probe[:len(during)], differences=True)
    print(f"peak correlation with the clicks: {heard_in_output:.3f}; with the same clicks in another order "
          f"{chance:.3f}; with the clicks leaked in at -20 dB {leaked:.3f}")
    assert leaked > 1.5 * chance  # the measure would catch the clicks leaking into the output ...
    assert heard_in_output < 1.3 * chance  # ... and they do not: they steer the model, it does not play them


def test_the_audio_injection_example_plays_along(tmp_path, scsynth_on_jack):
    """examples/audio_injection.scd as it is: a pattern into a bus, injected while the model plays
    through scsynth; the model hears seconds of it."""
    engine = Engine("builtin", sink="null", quiet=True).start()
    lines: list[str] = []
    server = OscServer(engine, port=0, log=lines.append).start()
    conf = tmp_path / "sclang_conf.yaml"
    conf.write_text(f"includePaths:\n    - {KIT / 'LiveMusicKernel' / 'classes'}\nexcludeDefaultPaths: false\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1",
           "LMK_PORT": str(server.port), "LMK_SCSYNTH_PORT": str(scsynth_on_jack)}
    try:
        result = subprocess.run(["sclang", "-l", str(conf), str(ROOT / "examples" / "audio_injection.scd")],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        delivered = engine._injector.delivered_frames / engine.sample_rate
    finally:
        server.close()
        engine.close()
    out = result.stdout
    assert result.returncode == 0 and "ERROR" not in out, (lines, out[-3000:])
    heard = float(out.split("the model heard ")[1].split()[0])
    assert heard > 4.0 and delivered >= heard  # 16 beats at 120 BPM is 8 s of playing
    assert server.route is None and not lines  # LMK.free stopped the route; nothing failed
