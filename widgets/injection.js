// The Injection panel: the mode (free or looper), input gain, feedback gain, input gap and loop length,
// the sources injecting now (stop any), an audio file to inject (the button, or drop it on the panel),
// and the level of the input the model is getting. The browser's microphone is the Player's button.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

const SLIDERS = [
  ["inject_gain", "input gain", 0.05, (v) => `×${v.toFixed(2)}`, "the input's level in the model's context"],
  ["feedback_gain", "feedback", 0.05, (v) => `×${v.toFixed(2)}`, "the model's own output's level in its context"],
  ["input_gap", "input gap", 0.05, (v) => `${v.toFixed(2)} s`, "the newest part of the context left without input"],
  ["loop_beats", "loop", 1, (v) => `${v} beats`, "looper mode: the loop's length in beats of the clock"],
];

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, fmt, panel, throttledRequest } = lmk;
    const { dispose, status, show, ask } = lmk.setup(model);

    const modes = h("div", { class: "lmk-modes", role: "group", "aria-label": "injection mode" },
      ...["free", "looper"].map((mode) => h("button", {
        class: "lmk-button", type: "button", "data-mode": mode,
        title: mode === "free" ? "the input at its true time; what has not arrived yet is silent"
          : "the previous loop of the input fills the whole context",
        onclick: () => ask("mode", { mode }).catch(() => {}),
      }, mode)));
    const glide = h("select", { class: "lmk-select", "aria-label": "glide: how slider changes reach the engine" },
      ...model.get("glides").map((beats) => h("option", { value: String(beats) },
        beats ? `glide ${beats} beat${beats > 1 ? "s" : ""}` : "at once")));
    glide.addEventListener("change", () => {
      ask("glide", { beats: Number(glide.value) }).catch(() => { glide.value = String(model.get("glide_beats")); });
    });

    const controls = {};
    const grid = h("div", { class: "lmk-inject-controls" });
    for (const [name, label, step, format, hint] of SLIDERS) {
      const [low, high] = model.get("ranges")[name];
      const slider = h("input", { class: "lmk-range", type: "range", min: String(low), max: String(high),
        step: String(step), "aria-label": label, "data-control": name });
      const value = h("span", { class: "lmk-value lmk-small" });
      const send = throttledRequest((v) => ask("control", { name, value: v }), 80, () => paint());
      slider.addEventListener("input", () => { controls[name].show(Number(slider.value)); send(Number(slider.value)); });
      slider.addEventListener("change", () => send.flush());
      grid.append(h("span", { class: "lmk-label", title: hint }, label), slider, value);
      controls[name] = {
        slider, send,
        show(v) {
          value.textContent = format(v);
          slider.style.setProperty("--lmk-fill", `${100 * (Math.min(Math.max(v, low), high) - low) / (high - low)}%`);
        },
      };
    }

    const meter = h("div", { class: "lmk-meter", role: "meter", "aria-label": "input level", "aria-valuemin": "-60",
      "aria-valuemax": "0" }, h("div", { class: "lmk-meter-fill" }), h("div", { class: "lmk-meter-mark" }));
    const levelText = h("span", { class: "lmk-value lmk-small" }, "–");
    const list = h("ul", { class: "lmk-inject-sources", "aria-label": "sources injecting now" });

    const file = h("input", { class: "lmk-upload", type: "file", accept: "audio/*,.wav,.flac,.ogg,.aiff,.aif,.mp3", tabindex: "-1" });
    const loop = h("input", { type: "checkbox", checked: true, "aria-label": "loop the file" });
    const inject = (chosen) => chosen.arrayBuffer().then((data) => {
      show(`reading ${chosen.name}…`, "busy");
      return ask("file", { filename: chosen.name, loop: loop.checked }, [data])
        .then((result) => show(`${chosen.name} (${fmt(result.seconds, 1)} s) goes into the model's context`, "info"));
    }).catch(() => {});
    const upload = h("button", { class: "lmk-button", type: "button", onclick: () => file.click(),
      title: "an audio file as a performer: mixed into the model's context, never played" }, "♫ Inject a file");
    file.addEventListener("change", () => { if (file.files && file.files[0]) inject(file.files[0]); file.value = ""; });
    const hint = h("div", { class: "lmk-hint" });

    const root = panel("inject", "Audio injection",
      h("div", { class: "lmk-row lmk-spread" }, modes, glide),
      grid,
      h("div", { class: "lmk-row" }, h("span", { class: "lmk-label" }, "input"), meter, levelText),
      list,
      h("div", { class: "lmk-row" }, upload, file, h("label", { class: "lmk-row lmk-small" }, loop, "loop")),
      hint,
      status);
    root.addEventListener("dragover", (event) => { event.preventDefault(); root.dataset.drop = "true"; });
    root.addEventListener("dragleave", () => { delete root.dataset.drop; });
    root.addEventListener("drop", (event) => {
      event.preventDefault();
      delete root.dataset.drop;
      const dropped = event.dataTransfer && event.dataTransfer.files[0];
      if (dropped) inject(dropped);
    });
    el.append(root);

    const paint = () => {
      const state = model.get("controls") || {};
      for (const button of modes.children) button.setAttribute("aria-pressed", String(button.dataset.mode === state.inject_mode));
      for (const [name, control] of Object.entries(controls)) {
        if (state[name] === undefined) continue;
        // A slider being dragged, or with changes on their way, shows the hand's value, not the kernel's.
        if (document.activeElement !== control.slider && !control.send.inflight) {
          control.slider.value = String(state[name]);
          control.show(state[name]);
        }
      }
      glide.value = String(model.get("glide_beats"));
      const level = model.get("level") || {};
      const db = level.rms_db ?? -120;
      meter.firstChild.style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
      meter.lastChild.style.left = `${Math.max(0, Math.min(100, ((level.peak_db ?? -120) + 60) / 60 * 100))}%`;
      meter.setAttribute("aria-valuenow", String(Math.round(db)));
      levelText.textContent = level.rms_db === null || level.rms_db === undefined ? "no input" : `${fmt(level.rms_db, 0)} dB`;
      const sources = model.get("sources") || [];
      list.replaceChildren(...sources.map((source) => h("li", { "data-id": String(source.id) },
        h("span", {}, source.name),
        h("span", { class: "lmk-value lmk-small" }, `${fmt(source.received_s, 1)} s in` +
          (source.dropped ? ` · ${source.dropped} dropped` : "")),
        h("button", { class: "lmk-button lmk-icon lmk-quiet", type: "button", "aria-label": `stop ${source.name}`,
          onclick: () => ask("stop", { id: source.id }).catch(() => {}) }, "✕"))));
      if (!sources.length) list.append(h("li", { class: "lmk-hint" }, "nothing injecting: inject a file, or press the Player's mic"));
      hint.textContent = model.get("hears") ? "" : "this model cannot hear injected audio (builtin and magenta can)";
      root.dataset.sources = String(sources.length);
      root.dataset.mode = state.inject_mode || "";
    };
    dispose.add(onChange(model, ["controls", "glide_beats", "level", "sources", "hears"], paint));
    paint();
    return () => dispose.run();
  },
};
