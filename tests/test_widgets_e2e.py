"""The instrument end to end: a real JupyterLab, Debian's headless Chromium, the quickstart notebook.

One test plays the whole part of a performer and checks each step in the kernel through a second
client of the same kernel: run all cells, press Listen, drag a weight slider, change a prompt from
code, move the XY pad from the keyboard, count what the Player's AudioWorklet received against what
the kernel sent over 20 seconds, and keep streaming (and queue a change) while a cell keeps the
kernel busy. It keeps a screenshot of the instrument and its figures in
out/test-artifacts/ (git-ignored) and prints where.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from e2e.lab import (
    REMOTE_HOST,
    evaluate,
    execute,
    jupyterlab,
    lab_folder,
    launch_chromium,
    playwright_api,
    run_all_cells,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "out" / "test-artifacts"
WINDOW_S = 20  # the measurement window the issue asks for: samples received vs sent over 20 s


def player(page, field):
    return int(page.get_attribute(".lmk-player", f"data-{field}"))


def mixer_row(page, slot):
    return page.locator(".lmk-mixer .lmk-slot", has=page.locator(".lmk-slot-name", has_text=slot)).first


@pytest.fixture
def sync_api():
    return playwright_api()


@pytest.fixture
def lab_root(tmp_path, sync_api):
    return lab_folder(tmp_path, ROOT / "examples" / "quickstart.ipynb"), sync_api


def test_the_quickstart_notebook_plays_in_jupyterlab_in_chromium(lab_root):
    root, sync_api = lab_root
    figures: dict = {}
    began = time.monotonic()
    with jupyterlab(root) as lab, sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        try:
            run_all_cells(page, lab, "quickstart.ipynb")
            for part in ("transport", "player", "mixer", "xy", "scope", "timeline"):
                page.wait_for_selector(f".lmk-instrument .lmk-{part}")
            client = lab.kernel_client("quickstart.ipynb")
            figures["setup_s"] = round(time.monotonic() - began, 1)

            # Press Listen: a real click, the user gesture browsers require before audio.
            page.click(".lmk-player .lmk-listen")
            page.wait_for_function("() => document.querySelector('.lmk-player').dataset.state === 'playing'"
                                   " && Number(document.querySelector('.lmk-player').dataset.framesReceived) > 0")
            assert evaluate(client, "ui.player.streaming") is True

            # Drag the weight slider of the "air" slot with the mouse; the engine follows.
            mixer_row(page, "air").wait_for()
            slider = mixer_row(page, "air").locator("input[type=range]")
            box = slider.bounding_box()
            page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.9 * box["width"], box["y"] + box["height"] / 2, steps=12)
            page.mouse.up()
            released = float(slider.input_value())
            # The engine is compared with what the slider shows now, each time: should the slider
            # move after the release, the assertion after the loop says so.
            deadline = time.monotonic() + 30
            while abs((taken := evaluate(client, "engine.slots['air'].weight"))
                      - (dragged := float(slider.input_value()))) > 1e-9:
                assert time.monotonic() < deadline, (
                    f"the engine never took the dragged weight: it holds {taken}, the slider shows {dragged}")
                time.sleep(0.1)
            assert dragged > 1.0  # from 0.4, most of the way to the sliders' top (2)
            assert dragged == released, "the slider moved after the release (an echo of a weight sent before?)"
            figures["dragged_weight"] = dragged

            # Change a prompt from code: both views of the mixer (the instrument's and `ui.mixer`) follow.
            execute(client, 'engine.set_prompt("main", "dub techno")')
            page.wait_for_function("""() => {
                const rows = [...document.querySelectorAll('.lmk-mixer .lmk-slot')].filter(
                    (row) => row.querySelector('.lmk-slot-name')?.textContent === 'main');
                const prompt = (row) => row.querySelector('.lmk-slot-text').value;
                return rows.length === 2 && rows.every((row) => prompt(row) === 'dub techno');
            }""")

            # The keyboard reaches the XY pad: focus it, press an arrow, the corner slots come in.
            page.focus(".lmk-instrument .lmk-pad")
            page.keyboard.press("ArrowRight")
            deadline = time.monotonic() + 30
            while evaluate(client, "[ui.xy.x, ui.xy.engaged, 'pad-se' in engine.slots]") != [0.55, True, True]:
                assert time.monotonic() < deadline, "the XY pad never moved from the keyboard"
                time.sleep(0.1)

            # Count what the worklet received against what the kernel sent, over 20 s of music.
            sent_before, received_before = evaluate(client, "ui.player.frames_sent"), player(page, "frames-received")
            time.sleep(WINDOW_S)  # the measurement window itself: nothing to wait for but the music
            sent_after, received_after = evaluate(client, "ui.player.frames_sent"), player(page, "frames-received")
            sent, received = sent_after - sent_before, received_after - received_before
            figures.update(window_s=WINDOW_S, frames_sent=sent, frames_received=received,
                           received_ratio=round(received / sent, 4))

            # While a cell runs the browser cannot reach the kernel; the kernel still reaches the browser.
            bpm = evaluate(client, "float(engine.controls.bpm)")
            busy = client.execute("import time; time.sleep(8)")  # the kernel's shell is busy for 8 s
            page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
                                   "?.dataset.status === 'busy'")
            during = player(page, "frames-received")
            page.click(".lmk-instrument .lmk-transport button[aria-label='faster by 1 BPM']")
            page.wait_for_selector(".lmk-instrument .lmk-transport .lmk-status[data-kind='busy']")
            page.wait_for_function(f"() => Number(document.querySelector('.lmk-player').dataset.framesReceived)"
                                   f" > {during + 4 * 48000}")  # 4 s more audio arrived while the cell ran
            figures["streamed_while_busy_s"] = round((player(page, "frames-received") - during) / 48000, 1)
            while client.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != busy:
                pass
            page.wait_for_function("() => !document.querySelector('.lmk-instrument .lmk-transport .lmk-status')"
                                   ".dataset.kind")  # the queued change was answered: no more "waiting"
            deadline = time.monotonic() + 30
            while evaluate(client, "float(engine.controls.bpm)") != bpm + 1:
                assert time.monotonic() < deadline, "the tempo change queued while the kernel was busy never landed"
                time.sleep(0.1)

            figures.update(browser_underruns=player(page, "underruns"),
                           browser_report=evaluate(client, "ui.player.browser"),
                           engine_underruns=evaluate(client, "engine.figures.underruns"),
                           refused_requests=evaluate(client, "[w.refused for w in ui._parts]"))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".lmk-stage").first.screenshot(path=str(ARTIFACTS / "jupyterlab-instrument.png"))
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-page.png"))
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"))
            print(f"JupyterLab log:\n{lab.tail()}\npage errors: {page_errors}")
            raise
        finally:
            figures["total_s"] = round(time.monotonic() - began, 1)
            (ARTIFACTS / "widgets-e2e.json").parent.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "widgets-e2e.json").write_text(json.dumps(figures, indent=2))
            print(f"widget e2e figures: {json.dumps(figures)}\nscreenshot: {ARTIFACTS / 'jupyterlab-instrument.png'}")
            browser.close()
    assert sent > 20 * 48000 * 0.9  # the engine really streamed for the whole window
    assert received >= 0.95 * sent, figures
    assert figures["refused_requests"] == [0] * 7  # the views never sent a request the kernel refused
    assert not page_errors, page_errors
    shutil.copy(ARTIFACTS / "widgets-e2e.json", ARTIFACTS / "widgets-e2e-passed.json")


def test_over_plain_http_to_a_remote_host_the_player_falls_back_and_still_plays(tmp_path, sync_api):
    """Not a secure context (plain http, not localhost): no AudioWorklet, so the ScriptProcessor plays."""
    root = tmp_path / "lab"
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from livemusic_kernel import Engine\nfrom livemusic_kernel.widgets import Player\n"
        "engine = Engine(sink='null', prompts={'main': 'minimal techno'}).start()\nplayer = Player(engine)\nplayer")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, root / "player.ipynb")
    with jupyterlab(root) as lab, sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        try:
            run_all_cells(page, lab, "player.ipynb", host=REMOTE_HOST)
            assert page.evaluate("() => window.isSecureContext") is False
            page.click(".lmk-player .lmk-listen")
            page.wait_for_function("() => Number(document.querySelector('.lmk-player').dataset.framesReceived) > 0")
            client = lab.kernel_client("player.ipynb")
            deadline = time.monotonic() + 30
            while not evaluate(client, "player.browser").get("played"):  # the page has reported, and plays
                assert time.monotonic() < deadline, "the page never reported playing"
                time.sleep(0.2)
            report = evaluate(client, "player.browser")
            sent_before, received_before = evaluate(client, "player.frames_sent"), player(page, "frames-received")
            time.sleep(5)  # a short window: the full measurement is the quickstart test's
            sent, received = (evaluate(client, "player.frames_sent") - sent_before,
                              player(page, "frames-received") - received_before)
        finally:
            browser.close()
    assert report["context"] == "ScriptProcessor (not a secure context)"
    assert received >= 0.95 * sent > 0
