"""The Player's ring buffer and microphone capture (widgets/player-worklet.js), run in Debian's
headless Chromium.

The same StreamRing plays in the AudioWorklet and in the ScriptProcessor fallback. Here it runs in
a page, driven quantum by quantum the way the audio thread drives it: it buffers the lead before it
plays, plays exactly what it got, counts a gap (not the stream's end) as an underrun, steers its fill
towards the lead by reading slightly faster, drops the oldest audio when a stalled page overflows it,
and forgets stale audio on reset. It knows which engine sample it plays, across gaps in the stream;
the microphone's capture passes the engine's rate exactly, resamples another, and stamps each packet
with the engine sample the performer heard as they played it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from e2e.lab import CHROMIUM, launch_chromium

pytestmark = pytest.mark.integration

SOURCE = (Path(__file__).resolve().parents[1] / "widgets" / "player-worklet.js").read_text()

#: Drives a StreamRing in the page: `steps` is a list of ["push", frames] and ["render", quanta] steps.
DRIVER = """async ([source, steps, lead]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { StreamRing } = await import(url);
  const ring = new StreamRing(2, 48000, lead);
  let next = 0;                       // the value of the next pushed frame: a ramp, so order is visible
  const out = [];
  for (const [kind, n] of steps) {
    if (kind === "push") {
      const data = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) { data[2 * i] = next; data[2 * i + 1] = -next; next += 1; }
      ring.push(data, n);
    } else if (kind === "reset") {
      ring.reset();
    } else {
      for (let q = 0; q < n; q++) {
        const outputs = [new Float32Array(128), new Float32Array(128)];
        ring.render(outputs);
        out.push(...outputs[0]);
        if (outputs[1].some((v, i) => v !== -outputs[0][i])) throw new Error("channels differ");
      }
    }
  }
  return { out, stats: ring.stats() };
}"""


@pytest.fixture(scope="module")
def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh test installs it as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.set_content("<title>ring</title>")
        yield page
        browser.close()


def drive(page, steps, lead=1024):
    return json.loads(json.dumps(page.evaluate(DRIVER, [SOURCE, steps, lead])))


def test_it_buffers_the_lead_then_plays_every_frame_exactly_in_order(page):
    result = drive(page, [["push", 1000], ["render", 4], ["push", 1100], ["render", 8]], lead=2048)
    out = result["out"]
    assert out[:512] == [0.0] * 512  # 1000 frames < the 2048-frame lead: silence, waiting
    # Then it plays from the first frame, exactly: the fill is near the lead, so no steering.
    assert out[512:] == [float(v) for v in range(1024)]
    assert result["stats"]["received"] == 2100 and result["stats"]["played"] == 1024
    assert result["stats"]["underruns"] == 0 and result["stats"]["ratio"] == 1


def test_the_end_of_the_stream_is_not_an_underrun_but_a_gap_is(page):
    ended = drive(page, [["push", 2048], ["render", 40]])["stats"]
    assert ended["underruns"] == 0 and ended["played"] >= 2040 and ended["playing"] is False
    gap = drive(page, [["push", 2048], ["render", 40], ["push", 2048], ["render", 40]])["stats"]
    assert gap["underruns"] == 1


def test_too_much_audio_reads_faster_and_a_stalled_page_drops_the_oldest(page):
    steered = drive(page, [["push", 20000], ["render", 100]], lead=1024)["stats"]
    assert steered["ratio"] > 1.0015  # far above the lead: at (nearly) the 0.2% limit
    consumed = steered["received"] - steered["fill"]
    assert consumed > 100 * 128 + 10  # read more frames than 100 quanta at the nominal rate would
    overflow = drive(page, [["push", 300000], ["render", 1]], lead=1024)["stats"]
    assert overflow["dropped"] > 300000 - 262144 and overflow["received"] == 300000
    assert overflow["fill"] <= 262144


def test_reset_forgets_what_was_buffered(page):
    result = drive(page, [["push", 5000], ["reset", 0], ["push", 2000], ["render", 1]], lead=1024)
    assert result["out"][0] == 5000.0  # the first frame after the reset, not the stale ones


# -- the microphone: MicCapture, and the ring saying which engine sample it plays -------------------

#: Drives a MicCapture in the page: quanta of a sine at the context's rate, the ring's "heard" samples
#: supplied as a steady stream starting at engine sample `first` (or none), packets returned.
MIC_DRIVER = """async ([source, contextRate, engineRate, quanta, frequency, latency, first]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { MicCapture } = await import(url);
  const mic = new MicCapture(1, contextRate, engineRate);
  mic.setLatency(latency);
  const packets = [];
  for (let q = 0; q < quanta; q++) {
    const frame = 128 * q;
    mic.heard(frame, first === null ? -1 : first + frame);
    const input = new Float32Array(128);
    for (let i = 0; i < 128; i++) input[i] = 0.5 * Math.sin(2 * Math.PI * frequency * (frame + i) / contextRate);
    for (const p of mic.capture([input], frame)) {
      packets.push({ sample: p.sample, frames: p.frames, data: [...p.data], peak: p.peak });
    }
  }
  return { packets, unstamped: mic.unstamped, sent: mic.sent };
}"""

RING_HEARD = """async ([source]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { StreamRing } = await import(url);
  const ring = new StreamRing(1, 48000, 1536);           // a lead of all it gets: no steering, exact frames
  const heard = [];
  const render = () => { ring.render([new Float32Array(128)]); heard.push(ring.heard); };
  render();                                              // nothing yet: silence, no sample
  ring.push(new Float32Array(512), 512, 1000);           // engine samples 1000..1511
  ring.push(new Float32Array(512), 512, 1512);           // consecutive: the same run
  ring.push(new Float32Array(512), 512, 9000);           // a gap in the stream (the kernel skipped some)
  for (let q = 0; q < 10; q++) render();
  return heard;
}"""


def test_the_ring_knows_which_engine_sample_it_plays_across_gaps(page):
    heard = page.evaluate(RING_HEARD, [SOURCE])
    assert heard == [-1, 1000, 1128, 1256, 1384, 1512, 1640, 1768, 1896, 9000, 9128]


def test_at_the_engines_rate_the_microphone_passes_exactly_with_stamps_of_what_was_heard(page):
    result = page.evaluate(MIC_DRIVER, [SOURCE, 48000, 48000, 100, 440.0, 0.010, 5000])
    packets = result["packets"]
    assert [p["frames"] for p in packets] == [1920] * 6  # 40 ms packets: 12800 frames make six
    samples = np.concatenate([p["data"] for p in packets])
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(samples)) / 48000)
    assert np.abs(samples - expected).max() < 1e-6  # the exact samples (float32)
    # Packet k starts at context frame 1920 k; the performer played it 10 ms (480 frames) after
    # hearing the output rendered then, which was engine sample 5000 + that frame.
    assert [p["sample"] for p in packets] == [5000 + 1920 * k - 480 for k in range(6)]
    assert result["unstamped"] == 0 and result["sent"] == 6 * 1920


def test_from_another_rate_the_microphone_is_resampled_to_the_engines(page):
    result = page.evaluate(MIC_DRIVER, [SOURCE, 44100, 48000, 345, 1000.0, 0.0, 0])  # 1 s at 44.1 kHz
    samples = np.concatenate([p["data"] for p in result["packets"]])
    assert abs(len(samples) - 48000) <= 1920  # whole packets of a second's worth at 48 kHz
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    assert abs(np.argmax(spectrum) * 48000 / len(samples) - 1000) < 2  # still 1 kHz at the engine's rate
    # Interpolation keeps the level of a tone far below Nyquist.
    assert 0.49 < max(p["peak"] for p in result["packets"]) <= 0.5
    # Stamps advance by the context frames each packet covers: 1920 * 44100 / 48000.
    starts = [p["sample"] for p in result["packets"]]
    assert all(abs(b - a - 1764) <= 1 for a, b in zip(starts, starts[1:], strict=False))


def test_before_any_music_played_the_microphone_has_no_stamp_and_sends_nothing(page):
    result = page.evaluate(MIC_DRIVER, [SOURCE, 48000, 48000, 30, 440.0, 0.0, None])
    assert all(p["sample"] == -1 for p in result["packets"])
    assert result["unstamped"] == 3840 and result["sent"] == 0
