"""Sinks: the null sink, the sound card through a real JACK server, and the
fallback when PortAudio is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from livemusic_kernel._ring import Ring
from livemusic_kernel.clock import OfflineClock
from livemusic_kernel.errors import SinkError
from livemusic_kernel.sinks import NullSink, Playhead, open_sink


def test_the_playhead_counts_underruns_only_once_primed():
    ring = Ring(1024, 2)
    playhead = Playhead(ring)
    out = np.zeros((256, 2), dtype=np.float32)
    playhead.pull(out, 1.0)
    assert playhead.underruns == 0  # not counting yet: the engine has not primed the ring
    playhead.counting = True
    ring.write(np.ones((100, 2), dtype=np.float32))
    playhead.pull(out, 2.0)
    assert (playhead.underruns, playhead.underrun_frames) == (1, 156)
    assert playhead.timing() == (2.0, 0)


def test_the_null_sink_keeps_real_time_pace():
    ring = Ring(1 << 16, 2)
    ring.write(np.zeros((48000, 2), dtype=np.float32))
    playhead = Playhead(ring)
    sink = NullSink(period=256)
    from livemusic_kernel.clock import LiveClock

    sink.open(playhead, 48000, 2, LiveClock())
    time.sleep(0.3)
    sink.close()
    # It consumed about 0.3 s of audio, not all of it at once (sanity, not timing).
    assert 0 < ring.read < 48000


def test_bad_sink_settings_are_refused():
    with pytest.raises(ValueError, match="positive number of frames"):
        NullSink(period=0)
    with pytest.raises(SinkError, match="needs a live clock"):
        NullSink().open(Playhead(Ring(16, 2)), 48000, 2, OfflineClock())
    with pytest.raises(ValueError, match="choose one of: auto, soundcard, null"):
        open_sink("hifi", None, Playhead(Ring(16, 2)), 48000, 2, OfflineClock(), print)


def run_python(code: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_missing_portaudio_falls_back_to_the_null_sink_and_says_how_to_install_it(tmp_path):
    """A sounddevice that cannot load PortAudio raises OSError on import, as the real one does."""
    (tmp_path / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    result = run_python("""
        import time
        from livemusic_kernel import Engine
        engine = Engine("click", sink="soundcard")
        engine.start(); time.sleep(0.3); engine.close()
        print(engine.figures.played_s > 0)
    """, env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "PortAudio was not found" in result.stderr
    assert "apt-get install libportaudio2" in result.stderr
    assert "playing to the null sink instead" in result.stderr


def test_the_soundcard_sink_streams_through_a_real_portaudio_callback(jack_server):
    """PortAudio's JACK host API drives our callback; nothing is mocked."""
    result = run_python("""
        import json, time
        from livemusic_kernel import Engine, list_devices
        engine = Engine("click", sink="soundcard", device="system")
        engine.set_prompt("main", "C4")
        engine.start()
        described = engine._sink.describe()
        for pitch in range(60, 72):
            time.sleep(0.15)
            engine.set_prompt("main", f"midi {pitch}")
        time.sleep(0.5)
        engine.close()
        f = engine.figures
        print(json.dumps({"sink": described, "played": f.played_s, "latency_n": f.latency_ms.count,
                          "latency_p50": f.latency_ms.p50,
                          "jack": any(d["hostapi"] == "JACK Audio Connection Kit" for d in list_devices())}))
    """)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["jack"] and report["sink"].startswith("sound card")
    assert report["played"] > 1.0
    assert report["latency_n"] == 12 and report["latency_p50"] > 0


def test_an_unknown_device_falls_back_with_the_list_of_devices(jack_server):
    result = run_python("""
        from livemusic_kernel import Engine
        engine = Engine("click", sink="soundcard", device="no such card")
        engine.start(); engine.close()
        print(engine.figures.played_s >= 0)
    """)
    assert result.returncode == 0, result.stderr
    assert "no output device 'no such card'" in result.stderr and "system" in result.stderr
    assert "null sink instead" in result.stderr
