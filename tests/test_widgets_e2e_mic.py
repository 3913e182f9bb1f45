"""The browser's microphone end to end: the audio-injection notebook in a real JupyterLab, in Debian's
headless Chromium whose fake capture device plays a WAV of a known tone as the microphone.

Run all cells, stop the notebook's file performer, press the Player's mic button (a real click, which
also starts listening), and check in the kernel, through a second client, that the tone arrives: the
microphone's injection receives audio, the model's context gets it (the injector's delivered frames
grow), its dominant frequency is the tone's, and its stamps are sane: behind the kernel's output by
the browser's buffer and latencies, and advancing with the audio. Keeps a screenshot of the instrument
with the mic on, and the figures, in out/test-artifacts/.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import soundfile
from e2e.lab import (
    evaluate,
    execute,
    fake_microphone_flags,
    jupyterlab,
    lab_folder,
    launch_chromium,
    playwright_api,
    run_all_cells,
)
from test_widgets_e2e import ARTIFACTS, ROOT

pytestmark = pytest.mark.integration

TONE_HZ = 440.0
RATE = 48000
LISTEN_S = 6  # seconds of microphone audio to collect


def _steering_reach(frames: int) -> int:
    """How far apart two stamps a packet of ``frames`` apart may be: the player's ring steers by
    reading at most 0.2% faster or slower (widgets/player-worklet.js), and a stamp is a whole sample.
    A loaded machine steers more often, so exact contiguity depends on the load; this does not."""
    return math.ceil(0.002 * frames) + 1


def attribute(page, field):
    return page.get_attribute(".lmk-instrument .lmk-player", f"data-{field}")


@pytest.fixture
def lab_root(tmp_path):
    sync_api = playwright_api()
    root = lab_folder(tmp_path, ROOT / "examples" / "audio_injection.ipynb")
    tone = tmp_path / "tone.wav"  # what the fake microphone plays, looped
    t = np.arange(2 * RATE) / RATE
    soundfile.write(tone, (0.5 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32), RATE, subtype="PCM_16")
    return root, tone, sync_api


def test_the_browsers_microphone_reaches_the_models_context_with_sane_stamps(lab_root):
    root, tone, sync_api = lab_root
    figures: dict = {}
    with jupyterlab(root) as lab, sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright, *fake_microphone_flags(tone))
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        try:
            run_all_cells(page, lab, "audio_injection.ipynb")
            page.wait_for_selector(".lmk-instrument .lmk-player .lmk-mic")
            page.wait_for_selector(".lmk-instrument .lmk-inject")
            client = lab.kernel_client("audio_injection.ipynb")
            # Only the microphone from here on: stop the file performer, then keep what the injector collects.
            execute(client, "performer_handle.stop()\nengine.wait(1.5)\n_heard = []\n_stop_hearing = "
                            "engine._injector.listen(lambda at, a: _heard.append((at, a[:, 0].copy())))")
            delivered_before = evaluate(client, "engine._injector.delivered_frames")

            page.click(".lmk-instrument .lmk-player .lmk-mic")  # asks for the mic, and starts listening
            page.wait_for_function("() => { const p = document.querySelector('.lmk-instrument .lmk-player');"
                                   " return p.dataset.micState === 'on' && Number(p.dataset.micTaken) > 0; }",
                                   timeout=60_000)
            assert evaluate(client, "ui.player.mic") is True
            deadline = time.monotonic() + 90
            while evaluate(client, "ui.player.mic_handle.received") < LISTEN_S * RATE:
                assert time.monotonic() < deadline, evaluate(client, "ui.player.mic_input")
                time.sleep(0.5)
            page.wait_for_function("() => [...document.querySelectorAll('.lmk-instrument .lmk-inject li')]"
                                   ".some((li) => li.textContent.includes('browser-mic'))")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".lmk-stage").first.screenshot(path=str(ARTIFACTS / "jupyterlab-mic.png"))

            execute(client, "_stop_hearing()\n_mic = ui.player.mic_input\n_played = engine.played")
            mic = evaluate(client, "_mic")
            played = evaluate(client, "_played")
            received = evaluate(client, "ui.player.mic_handle.received")
            dropped = evaluate(client, "ui.player.mic_handle.dropped")
            delivered = evaluate(client, "engine._injector.delivered_frames") - delivered_before
            starts = evaluate(client, "[int(at) for at, _ in _heard]")
            lengths = evaluate(client, "[len(a) for _, a in _heard]")
            execute(client, "import numpy as _np\n_all = _np.concatenate([a for _, a in _heard])\n"
                            "_hz = float(_np.argmax(_np.abs(_np.fft.rfft(_all))) * 48000 / len(_all))")
            spectrum_peak, level = evaluate(client, "[_hz, float(_np.abs(_all).max())]")
            gaps = [b - (a + n) for a, b, n in zip(starts, starts[1:], lengths, strict=False)]
            figures.update(received_s=round(received / RATE, 2), dropped_frames=dropped,
                           delivered_s=round(delivered / RATE, 2), packets=mic["packets"], lag_ms=mic["lag_ms"],
                           refused=mic["refused"], heard_pieces=len(starts), tone_found_hz=round(spectrum_peak, 1),
                           peak_level=round(level, 3), exact=sum(g == 0 for g in gaps),
                           contiguous=sum(abs(g) <= _steering_reach(n) for g, n in zip(gaps, lengths, strict=False)),
                           gaps=len(gaps),
                           largest_gap=max(map(abs, gaps), default=0),
                           browser_unstamped=int(attribute(page, "mic-unstamped")),
                           browser_refused=int(attribute(page, "mic-refused")))

            page.click(".lmk-instrument .lmk-player .lmk-mic")  # mic off
            page.wait_for_function("() => document.querySelector('.lmk-instrument .lmk-player')"
                                   ".dataset.micState === 'off'")
            deadline = time.monotonic() + 30
            while evaluate(client, "ui.player.mic"):
                assert time.monotonic() < deadline, "the kernel never heard the mic go off"
                time.sleep(0.2)
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-mic-failure.png"))
            print(f"JupyterLab log:\n{lab.tail()}\npage errors: {page_errors}")
            raise
        finally:
            (ARTIFACTS / "widgets-e2e-mic.json").parent.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "widgets-e2e-mic.json").write_text(json.dumps(figures, indent=2))
            print(f"mic e2e figures: {json.dumps(figures)}\nscreenshot: {ARTIFACTS / 'jupyterlab-mic.png'}")
            browser.close()
    assert received >= LISTEN_S * RATE and delivered > 0  # the model's context got the microphone
    assert abs(figures["tone_found_hz"] - TONE_HZ) < 2  # and it is the fake microphone's tone
    assert 0.25 < level <= 0.51  # at the file's level (mic gain 1, 16-bit both ways)
    # Stamps: the performer heard the past (the browser buffers `lead_ms`), not far behind the kernel,
    # every piece after the injection began, and the pieces follow one another (as far as the player's
    # ring lets them: while it steers back to its lead it reads up to 0.2% faster or slower).
    assert 0 < mic["lag_ms"] < 3000, mic
    assert starts and all(0 <= at <= played for at in starts)
    assert figures["contiguous"] >= 0.8 * len(gaps), figures
    assert mic["refused"] == 0 and figures["browser_refused"] == 0
    assert not page_errors, page_errors
