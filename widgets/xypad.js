// The XY pad: four corner prompts, a dot that blends them bilinearly. The dot follows the pointer at
// the screen's frame rate; the kernel hears at most one move every 40 ms (the newest), and the last
// one always.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

const NAMES = ["top left", "top right", "bottom left", "bottom right"];

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, fmt, panel, throttledRequest } = lmk;
    const { dispose, status, ask } = lmk.setup(model);

    const dot = h("div", { class: "lmk-pad-dot" });
    const pad = h("div", {
      class: "lmk-pad lmk-focusable", tabindex: "0", role: "slider",
      "aria-label": "XY pad: drag, or use the arrow keys (Shift for fine steps), to blend the four corner prompts",
    }, dot);
    let dragging = false;
    let local = null;  // where this view put the dot, until the kernel has answered every move

    const place = (x, y) => {
      dot.style.left = `${100 * x}%`;
      dot.style.top = `${100 * y}%`;
      const w = [(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y];
      pad.setAttribute("aria-valuetext", NAMES.map((n, i) => `${n} ${Math.round(100 * w[i])}%`).join(", "));
      pad.dataset.x = x.toFixed(3);
      pad.dataset.y = y.toFixed(3);
    };
    const send = throttledRequest(([x, y]) => ask("move", { x, y }), 40,
                                  () => { if (!dragging) { local = null; paint(); } });
    const moveTo = (x, y) => {
      x = Math.min(1, Math.max(0, x));
      y = Math.min(1, Math.max(0, y));
      local = [x, y];
      place(x, y);
      send([x, y]);
    };
    const fromEvent = (event) => {
      const box = pad.getBoundingClientRect();
      moveTo((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
    };
    pad.addEventListener("pointerdown", (event) => {
      dragging = true;
      pad.setPointerCapture(event.pointerId);
      pad.focus({ preventScroll: true });
      fromEvent(event);
      event.preventDefault();
    });
    pad.addEventListener("pointermove", (event) => { if (dragging) fromEvent(event); });
    const release = () => {
      if (!dragging) return;
      dragging = false;
      send.flush();
      if (!send.inflight) { local = null; paint(); }
    };
    pad.addEventListener("pointerup", release);
    pad.addEventListener("pointercancel", release);
    pad.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 0.01 : 0.05;
      const [x, y] = local || [model.get("x"), model.get("y")];
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[event.key]) {
        moveTo(x + moves[event.key][0], y + moves[event.key][1]);
        event.preventDefault();
      } else if (event.key === "Home") {
        moveTo(0.5, 0.5);
        event.preventDefault();
      }
    });

    const corners = model.get("corners").map((_, i) => {
      const input = h("input", { class: "lmk-input", type: "text", maxlength: "500", "aria-label": `${NAMES[i]} corner prompt` });
      const weight = h("span", { class: "lmk-corner-weight" });
      let editing = false;
      input.addEventListener("focus", () => { editing = true; });
      input.addEventListener("blur", () => {
        editing = false;
        const text = input.value.trim();
        if (text && text !== model.get("corners")[i]) {
          ask("corner", { index: i, text }).catch(() => { input.value = model.get("corners")[i]; });
        } else input.value = model.get("corners")[i];
      });
      input.addEventListener("keydown", (event) => { if (event.key === "Enter") input.blur(); });
      const box = h("label", { class: `lmk-corner lmk-corner-${["nw", "ne", "sw", "se"][i]}` }, input, weight);
      return { box, input, weight, get editing() { return editing; } };
    });

    const hint = h("div", { class: "lmk-hint" });
    el.append(panel("xy", "XY pad",
      h("div", { class: "lmk-pad-wrap" }, corners[0].box, corners[1].box, pad, corners[2].box, corners[3].box),
      hint,
      status));

    function paint() {
      hint.textContent = model.get("engaged")
        ? "Each corner's prompt weighs as much as the dot is near it."
        : "Not playing yet: drag the dot, or focus the pad and press an arrow key, to bring the corners in.";
      const x = model.get("x");
      const y = model.get("y");
      if (!dragging && !local) place(x, y);
      pad.dataset.engaged = String(model.get("engaged"));
      const names = model.get("corners");
      const weights = model.get("weights");
      corners.forEach((corner, i) => {
        if (!corner.editing) corner.input.value = names[i];
        corner.weight.textContent = model.get("engaged") ? `weight ${fmt(weights[i], 2)}` : "";
      });
    }
    dispose.add(onChange(model, ["x", "y", "engaged", "corners", "weights"], paint));
    dispose.add(() => send.cancel());
    paint();
    return () => dispose.run();
  },
};
