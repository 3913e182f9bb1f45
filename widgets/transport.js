// The Transport: play/stop, the tempo, a bar and beat display that ticks with the music between the
// kernel's updates, Ableton Link's status and the engine's health figures.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, fmt, panel, beatClock, animate } = lmk;
    const { dispose, status, ask } = lmk.setup(model);

    const play = h("button", { class: "lmk-button lmk-primary lmk-play", type: "button" });
    play.addEventListener("click", () => {
      ask(model.get("clock").running ? "stop" : "play").catch(() => {});
    });
    const bar = h("span", { class: "lmk-bar", "aria-label": "bar" }, "1");
    const beats = h("div", { class: "lmk-beats", "aria-hidden": "true" });
    const beatText = h("span", { class: "lmk-value lmk-beat-text", "aria-label": "beat" });
    const bpmInput = h("input", {
      class: "lmk-input lmk-num", type: "number", min: "20", max: "400", step: "0.5", "aria-label": "tempo in BPM",
    });
    let editingBpm = false;
    const sendBpm = (value) => {
      const bpm = Number(value);
      ask("bpm", { bpm }).catch(() => { bpmInput.value = fmt(model.get("clock").bpm, 1); });
    };
    bpmInput.addEventListener("focus", () => { editingBpm = true; });
    bpmInput.addEventListener("blur", () => { editingBpm = false; paint(); });
    bpmInput.addEventListener("change", () => sendBpm(bpmInput.value));
    bpmInput.addEventListener("keydown", (event) => { if (event.key === "Enter") bpmInput.blur(); });
    const nudge = (delta, label) => h("button", {
      class: "lmk-button lmk-icon", type: "button", "aria-label": label,
      onclick: () => sendBpm(Math.round((model.get("clock").bpm + delta) * 2) / 2),
    }, delta > 0 ? "+" : "−");
    const link = h("span", { class: "lmk-link" });
    const backend = h("span", { class: "lmk-hint" });

    const figure = (label, hint) => {
      const value = h("span", { class: "lmk-value" }, "–");
      return [h("div", { class: "lmk-figure", title: hint }, h("span", { class: "lmk-label" }, label), value), value];
    };
    const [latencyRow, latency] = figure("latency p95", "from posting a change to hearing it");
    const [underrunRow, underruns] = figure("underruns", "times the sound card found no audio ready");
    const [rtfRow, rtf] = figure("RT factor", "real-time factor: generation time / audio time (below 1 keeps up)");
    const [queueRow, queue] = figure("ready", "audio generated ahead of playback");
    const [errorRow, errors] = figure("errors", "model steps that failed (the output faded meanwhile)");

    const root = panel("transport", "Transport",
      h("div", { class: "lmk-transport-main" },
        play,
        h("div", { class: "lmk-position" }, bar, beats, beatText),
        h("div", { class: "lmk-bpm" }, nudge(-1, "slower by 1 BPM"), bpmInput, h("span", { class: "lmk-label" }, "BPM"),
          nudge(+1, "faster by 1 BPM"))),
      h("div", { class: "lmk-figures" }, latencyRow, underrunRow, rtfRow, queueRow, errorRow),
      h("div", { class: "lmk-row lmk-spread" }, status, link, backend));
    el.append(root);

    const clock = beatClock(model);
    dispose.add(clock.dispose);
    let dots = [];
    const paintBeat = () => {
      const state = clock.state;
      const perBar = state.beats_per_bar || 4;
      if (dots.length !== perBar) {
        dots = Array.from({ length: perBar }, (_, i) => h("span", { class: "lmk-beat-dot", "data-down": String(i === 0) }));
        beats.replaceChildren(...dots);
      }
      const beat = clock.beat();
      const whole = Math.floor(beat + 1e-6);
      const inBar = ((whole % perBar) + perBar) % perBar;
      const barText = String(Math.floor(whole / perBar) + 1);
      if (bar.textContent !== barText) bar.textContent = barText;
      const beatWords = `${inBar + 1}/${perBar}`;
      if (beatText.textContent !== beatWords) beatText.textContent = beatWords;
      // A beat lights for the first quarter of its length, like a metronome's lamp.
      const lit = state.running && beat - whole < 0.25;
      dots.forEach((dot, i) => {
        const now = String(i === inBar);
        const on = String(i === inBar && (lit || !state.running));  // a flash on the beat, like a metronome
        if (dot.dataset.now !== now) dot.dataset.now = now;
        if (dot.dataset.on !== on) dot.dataset.on = on;
      });
    };
    dispose.add(animate(paintBeat));

    const paint = () => {
      const state = model.get("clock");
      play.textContent = state.running ? "■ Stop" : "▶ Play";
      play.setAttribute("aria-pressed", String(!!state.running));
      if (!editingBpm) bpmInput.value = fmt(state.bpm, state.bpm % 1 ? 2 : 0);
      const l = model.get("link");
      link.dataset.on = String(!!l.enabled);
      link.textContent = l.enabled ? `Link: ${l.peers} peer${l.peers === 1 ? "" : "s"}${l.tempo ? `, ${fmt(l.tempo, 1)} BPM` : ""}` : "Link off";
      const f = model.get("figures");
      latency.textContent = f.latency_p95_ms === null || f.latency_p95_ms === undefined ? "–" : `${fmt(f.latency_p95_ms, 0)} ms`;
      underruns.textContent = String(f.underruns ?? "–");
      underruns.dataset.bad = String(f.underruns > 0);
      rtf.textContent = fmt(f.realtime_factor, 2);
      rtf.dataset.bad = String(f.realtime_factor > 1);
      queue.textContent = `${fmt(f.queue_ms, 0)} ms`;
      errors.textContent = String(f.errors ?? "–");
      errors.dataset.bad = String(f.errors > 0);
      backend.textContent = `model: ${model.get("backend")}`;
      root.dataset.running = String(!!state.running);
      root.dataset.bpm = String(state.bpm);
    };
    dispose.add(onChange(model, ["clock", "link", "figures", "backend"], paint));
    paint();
    return () => dispose.run();
  },
};
