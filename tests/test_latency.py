"""Round-trip latency: the log sweep, the cross-correlation, `lmk latency` through a real JACK loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, lfilter

from livemusic_kernel.errors import LatencyError
from livemusic_kernel.latency import (
    LatencyMeasurement,
    find_delay,
    log_sweep,
    measure,
    measure_device,
    save_latency,
    stored_latency,
)

RATE = 48000
LMK = shutil.which("lmk", path=str(Path(sys.executable).parent)) or shutil.which("lmk")
DELAY_CLIENT = Path(__file__).with_name("_jack_delay.py")


def software_loopback(delay: float, seed: int = 0):
    """A duplex device in software: the signal comes back ``delay`` samples later (fractional:
    by a linear-phase shift), through a speaker's band, under noise at -30 dB."""
    rng = np.random.default_rng(seed)
    b, a = butter(2, [150 / (RATE / 2), 9000 / (RATE / 2)], btype="band")

    def playrec(signal: np.ndarray) -> np.ndarray:
        spectrum = np.fft.rfft(signal, 2 * len(signal))
        shift = np.exp(-2j * np.pi * np.fft.rfftfreq(2 * len(signal)) * delay)
        moved = np.fft.irfft(spectrum * shift)[:len(signal)]
        return lfilter(b, a, moved) + 0.03 * rng.standard_normal(len(signal))

    return playrec


@pytest.mark.parametrize("delay", [0.0, 37.0, 480.25, 4800.0, 12345.6])
def test_a_software_loopback_of_set_delay_is_measured_within_a_tenth_of_a_millisecond(delay):
    result = measure(software_loopback(delay), RATE, seconds=0.5, runs=2)
    assert abs(result.samples - delay) < 0.1 * RATE / 1000   # far inside the 2 ms asked
    assert result.confidence > 20 and len(result.runs) == 2
    assert "round trip" in str(result)


def test_the_sweep_rises_through_its_band_and_the_peak_is_found_in_noise():
    sweep = log_sweep(1.0, RATE)
    assert sweep.dtype == np.float32 and abs(float(np.abs(sweep).max()) - 0.5) < 0.01
    noise = 0.1 * np.random.default_rng(1).standard_normal(len(sweep) + 1500)
    recorded = np.concatenate([np.zeros(1000), sweep, np.zeros(500)]) + noise
    delay, confidence = find_delay(sweep, recorded)
    assert abs(delay - 1000) < 0.5 and confidence > 20


def test_silence_and_bad_arguments_say_what_to_do():
    with pytest.raises(LatencyError, match="heard nothing.*connect the output to the input"):
        measure(lambda signal: np.zeros_like(signal), RATE)
    with pytest.raises(ValueError, match="between 0.1 and 10 seconds"):
        measure(software_loopback(0), RATE, seconds=60)
    with pytest.raises(ValueError, match="runs is a whole number from 1 to 20"):
        measure(software_loopback(0), RATE, runs=0)


def test_measurements_are_stored_per_device(tmp_path, monkeypatch):
    monkeypatch.setenv("LMK_CONFIG_DIR", str(tmp_path / "config"))
    assert stored_latency("card") is None
    measured = LatencyMeasurement(12.5, 600.0, RATE, (12.5,), 90.0, "card")
    path = save_latency(measured, "card")
    save_latency(LatencyMeasurement(3.0, 144.0, RATE, (3.0,), 90.0, "default"))
    assert stored_latency("card") == 0.0125 and stored_latency() == 0.003
    assert json.loads(path.read_text())["devices"]["card"]["round_trip_ms"] == 12.5
    path.write_text("{not json")
    with pytest.raises(LatencyError, match="measure it again with lmk latency"):
        stored_latency("card")
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("LMK_CONFIG_DIR", str(blocked / "config"))
    with pytest.raises(LatencyError, match="set LMK_CONFIG_DIR to a writable folder"):
        save_latency(measured)


def test_a_missing_device_names_the_devices_that_could_be_measured():
    with pytest.raises(LatencyError, match="no sound card to measure|PortAudio"):
        measure_device("no such device")


# -- a real loopback: PortAudio plays and records through JACK, a JACK client delays -----------------

@pytest.fixture()
def delay_client(jack_server):
    """Start ``_jack_delay.py NAME SAMPLES`` as a JACK client; stopped when the test ends."""
    clients = []

    def start(name: str, samples: int) -> None:
        client = subprocess.Popen([sys.executable, str(DELAY_CLIENT), name, str(samples)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        clients.append(client)
        line = client.stdout.readline()
        assert line.strip() == "ready", client.stderr.read()

    yield start
    for client in clients:
        client.stdin.close()
        client.wait(timeout=10)


def lmk_latency(device: str, config: Path) -> dict:
    assert LMK is not None, "the 'lmk' entry point is not installed; pip install -e ."
    result = subprocess.run([LMK, "latency", "--device", device, "--seconds", "0.5", "--runs", "2", "--json"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "LMK_CONFIG_DIR": str(config)})
    assert result.returncode == 0, result.stderr
    assert "sweep 2 of 2 heard" in result.stderr
    return json.loads(result.stdout)


@pytest.mark.integration
def test_lmk_latency_measures_a_jack_loopback_of_set_delay_within_2_ms(delay_client, tmp_path):
    """PortAudio (sounddevice) plays the sweep into a JACK client that delays it by a set number of
    samples and records what comes back. JACK adds one period (1024 samples) of its own: the client's
    output reaches PortAudio's input in the next cycle; measured with no delay, it is the baseline."""
    delays = {"lmkzero": 0, "lmkshort": 960, "lmklong": 4800}
    for name, samples in delays.items():
        delay_client(name, samples)
    measured = {name: lmk_latency(name, tmp_path) for name in delays}
    baseline = measured["lmkzero"]["samples"]
    assert abs(baseline - 1024) * 1000 / RATE < 2
    for name, samples in delays.items():
        error_ms = abs(measured[name]["samples"] - baseline - samples) * 1000 / RATE
        assert error_ms < 2, (name, measured[name], baseline)
    # Stored per device, where live injection from that device reads it.
    stored = json.loads((tmp_path / "latency.json").read_text())["devices"]
    assert set(stored) == set(delays)
    assert stored["lmklong"]["round_trip_ms"] == measured["lmklong"]["round_trip_ms"]
