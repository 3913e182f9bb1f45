"""The Player's ring buffer (widgets/player-worklet.js), run in Debian's headless Chromium.

The same StreamRing plays in the AudioWorklet and in the ScriptProcessor fallback. Here it runs in
a page, driven quantum by quantum the way the audio thread drives it: it buffers the lead before it
plays, plays exactly what it got, counts a gap (not the stream's end) as an underrun, steers its fill
towards the lead by reading slightly faster, drops the oldest audio when a stalled page overflows it,
and forgets stale audio on reset.
"""

from __future__ import annotations

import json
from pathlib import Path

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
