// The PromptMixer: a row per prompt slot (name, prompt text or audio file, weight) and the blended
// style as a bar chart of its strongest dimensions.
//
// Rows are keyed by slot name and kept across updates, so a slider being dragged or a text box being
// typed in is never replaced under the user's hand: the kernel's echo is applied once they let go.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, fmt, panel, throttledRequest } = lmk;
    const { dispose, status, show, ask: request } = lmk.setup(model);

    const list = h("div", { class: "lmk-slots", role: "list", "aria-label": "prompt slots" });
    const rows = new Map();      // slot name -> row controller
    let drafts = 0;              // rows added here and not sent yet

    const freeName = () => {
      const taken = new Set([...rows.keys(), ...model.get("slots").map((s) => s.name)]);
      if (!taken.has("main")) return "main";
      for (let i = 2; ; i++) if (!taken.has(`p${i}`)) return `p${i}`;
    };

    const readFile = (file, slot, weight) => file.arrayBuffer().then((data) => {
      show(`embedding ${file.name}…`, "busy");
      return request("audio", { slot, filename: file.name, weight }, [data])
        .then(() => show(`${file.name} is now the prompt of ${slot}`, "info"));
    });

    /** One row. `draft` rows live only in this view until their prompt is sent. */
    function makeRow(slot, draft = false) {
      const row = { name: slot.name, draft, editing: false, dragging: false };
      const name = draft
        ? h("input", { class: "lmk-input lmk-slot-name", value: slot.name, "aria-label": "new slot name", maxlength: "64" })
        : h("span", { class: "lmk-slot-name", title: slot.name }, slot.name);
      const words = h("input", { class: "lmk-input lmk-slot-text", type: "text", placeholder: "type a prompt, or drop an audio file", maxlength: "500" });
      const slider = h("input", { class: "lmk-range", type: "range", min: "0", step: "0.01" });
      const value = h("span", { class: "lmk-num lmk-slot-weight" });
      const file = h("input", { class: "lmk-upload", type: "file", accept: "audio/*,.wav,.flac,.ogg,.aiff,.aif,.mp3", tabindex: "-1" });
      const upload = h("button", { class: "lmk-button lmk-icon lmk-quiet", type: "button" }, "♫");
      const remove = h("button", { class: "lmk-button lmk-icon lmk-quiet", type: "button" }, "✕");
      const el = h("div", { class: "lmk-slot", role: "listitem" }, name, words, slider, value, h("span", {}, upload, file), remove);
      row.el = el;

      const slotName = () => (draft ? name.value.trim() : row.name);
      const label = () => {
        const who = slotName() || "new slot";
        words.setAttribute("aria-label", `prompt of ${who}`);
        slider.setAttribute("aria-label", `weight of ${who}`);
        upload.setAttribute("aria-label", `audio file for ${who}`);
        upload.title = `use an audio file as the prompt of ${who}`;
        remove.setAttribute("aria-label", `remove ${who}`);
      };
      label();
      if (draft) name.addEventListener("input", label);

      const showWeight = (weight) => {
        const max = model.get("max_weight");
        slider.max = String(max);
        slider.value = String(Math.min(weight, max));
        slider.style.setProperty("--lmk-fill", `${100 * Math.min(weight, max) / max}%`);
        slider.setAttribute("aria-valuetext", fmt(weight, 2));
        value.textContent = fmt(weight, 2);
      };

      const sendPrompt = () => {
        const text = words.value.trim();
        const slotNow = slotName();
        if (!text || !slotNow) return;
        if (!draft && text === row.text) return;
        request("prompt", { slot: slotNow, text, weight: Number(slider.value) })
          .then(() => { if (draft) { draft = false; row.el.remove(); rows.delete(row.name); drafts -= 1; paint(); } })
          .catch(() => { if (!draft) words.value = row.text; });
      };
      words.addEventListener("focus", () => { row.editing = true; });
      words.addEventListener("blur", () => { row.editing = false; sendPrompt(); });
      words.addEventListener("keydown", (event) => {
        if (event.key === "Enter") words.blur();
        if (event.key === "Escape") { words.value = row.text || ""; words.blur(); }
      });

      const sendWeight = throttledRequest(
        (weight) => (draft ? undefined : request("weight", { slot: row.name, weight })), 40,
        () => { if (!row.dragging) showWeight(row.weight); });
      slider.addEventListener("input", () => { row.dragging = true; showWeight(Number(slider.value)); sendWeight(Number(slider.value)); });
      slider.addEventListener("change", () => { sendWeight.flush(); row.dragging = false; });
      slider.addEventListener("pointerup", () => { sendWeight.flush(); row.dragging = false; });
      slider.addEventListener("blur", () => { row.dragging = false; });

      upload.addEventListener("click", () => file.click());
      file.addEventListener("change", () => {
        const chosen = file.files && file.files[0];
        if (chosen && slotName()) readFile(chosen, slotName(), Number(slider.value)).then(() => { if (draft) dropDraft(); }).catch(() => {});
        file.value = "";
      });
      el.addEventListener("dragover", (event) => { event.preventDefault(); el.dataset.drop = "true"; });
      el.addEventListener("dragleave", () => { delete el.dataset.drop; });
      el.addEventListener("drop", (event) => {
        event.preventDefault();
        delete el.dataset.drop;
        const dropped = event.dataTransfer && event.dataTransfer.files[0];
        if (dropped && slotName()) readFile(dropped, slotName(), Number(slider.value)).then(() => { if (draft) dropDraft(); }).catch(() => {});
      });

      const dropDraft = () => { draft = false; row.el.remove(); rows.delete(row.name); drafts -= 1; paint(); };
      remove.addEventListener("click", () => {
        if (draft) { dropDraft(); return; }
        request("remove", { slot: row.name }).catch(() => {});
      });

      row.update = (s) => {
        row.text = s.text;
        row.weight = s.weight;
        el.dataset.kind = s.kind;
        words.disabled = s.kind === "style";
        if (!row.editing) words.value = s.text;
        words.title = s.kind === "audio" ? "audio prompt: type text to replace it" : "";
        if (!row.dragging && !sendWeight.inflight) showWeight(s.weight);
      };
      row.update(slot);
      row.focus = () => (draft ? name : words).focus();
      return row;
    }

    const addDraft = (focus) => {
      const row = makeRow({ name: freeName(), kind: "text", text: "", weight: 1 }, true);
      rows.set(row.name, row);
      drafts += 1;
      list.append(row.el);
      if (focus) row.focus();
    };
    const add = h("button", { class: "lmk-button", type: "button", onclick: () => addDraft(true) }, "+ Add prompt");

    const bars = h("div", { class: "lmk-bars", role: "img" });
    const styleTitle = h("div", { class: "lmk-subtitle" });

    el.append(panel("mixer", "Prompts",
      list,
      h("div", { class: "lmk-row" }, add, h("span", { class: "lmk-hint" }, "weights blend the prompts' styles: w·style / Σw")),
      styleTitle,
      bars,
      status));

    function paint() {
      const slots = model.get("slots");
      const names = new Set(slots.map((s) => s.name));
      for (const [name, row] of rows) {
        if (!row.draft && !names.has(name)) { row.el.remove(); rows.delete(name); }
      }
      let before = null;
      for (const slot of slots) {
        let row = rows.get(slot.name);
        if (row && row.draft) { row.el.remove(); rows.delete(slot.name); drafts -= 1; row = null; }
        if (!row) { row = makeRow(slot); rows.set(slot.name, row); }
        row.update(slot);
        // Keep the kernel's order without moving a focused row (moving it would drop the focus).
        const wanted = before ? before.nextSibling : list.firstChild;
        if (wanted !== row.el && !row.el.contains(document.activeElement)) list.insertBefore(row.el, wanted);
        before = row.el;
      }
      if (!slots.length && !drafts) addDraft(false);  // an empty mixer offers a row to type in
    }

    function paintStyle() {
      const style = model.get("blended");
      const top = Math.max(1e-12, ...style.bars.map(([, v]) => Math.abs(v)));
      styleTitle.textContent = `blended style (${style.space}), strongest dimensions`;
      bars.setAttribute("aria-label", `blended style: ${style.bars.map(([n, v]) => `${n} ${fmt(v, 2)}`).join(", ")}`);
      bars.replaceChildren(...style.bars.flatMap(([name, v]) => [
        h("span", { class: "lmk-bars-name" }, name),
        h("div", { class: "lmk-bars-track" }, h("div", {
          class: "lmk-bars-fill", "data-negative": String(v < 0), style: { width: `${(100 * Math.abs(v)) / top}%` },
        })),
        h("span", { class: "lmk-bars-value" }, Math.abs(v) >= 100 ? fmt(v, 0) : fmt(v, Math.abs(v) >= 10 ? 1 : 2)),
      ]));
    }

    dispose.add(onChange(model, ["slots", "max_weight"], paint));
    dispose.add(onChange(model, ["blended"], paintStyle));
    paint();
    paintStyle();
    return () => dispose.run();
  },
};
