// The Scope: level meters (RMS bar, peak line with hold) and a spectrogram that scrolls one column per
// analysis frame from the kernel, low frequencies at the bottom.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

/** Dark blue-black through teal and amber to white: loud is warm, like the rest of the instrument. */
function colormap() {
  const stops = [[0, [7, 8, 12]], [0.35, [20, 60, 80]], [0.6, [70, 212, 196]], [0.82, [255, 178, 62]], [1, [255, 250, 240]]];
  const table = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < stops.length - 2 && t > stops[k + 1][0]) k++;
    const [t0, c0] = stops[k];
    const [t1, c1] = stops[k + 1];
    const f = (t - t0) / (t1 - t0);
    for (let c = 0; c < 3; c++) table[4 * i + c] = c0[c] + (c1[c] - c0[c]) * f;
    table[4 * i + 3] = 255;
  }
  return table;
}
const COLORS = colormap();

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, panel, crispCanvas, animate, fmt } = lmk;
    const { dispose, channel, status } = lmk.setup(model);
    const bands = model.get("bands");
    const floor = model.get("floor_db");

    const meters = Array.from({ length: model.get("channels") }, (_, c) => {
      const rms = h("div", { class: "lmk-level-rms" });
      const peak = h("div", { class: "lmk-level-peak" });
      const box = h("div", { class: "lmk-level", role: "meter", "aria-label": c === 0 ? "left level" : c === 1 ? "right level" : `channel ${c + 1} level`,
        "aria-valuemin": String(floor), "aria-valuemax": "0" }, rms, peak);
      return { box, rms, peak, level: floor, hold: floor, heldAt: 0 };
    });
    const [canvas, ctx, size] = crispCanvas("lmk-spectrogram", "spectrogram of the output, newest at the right, low frequencies at the bottom");
    const readout = h("span", { class: "lmk-value" }, "–");
    const legend = h("div", { class: "lmk-scope-legend" },
      h("span", {}, `${Math.round(model.get("low_hz"))} Hz – ${(model.get("high_hz") / 1000).toFixed(0)} kHz`),
      h("span", {}, "peak ", readout));
    const root = panel("scope", "Scope",
      h("div", { class: "lmk-scope-body" }, h("div", { class: "lmk-levels" }, ...meters.map((m) => m.box)), canvas),
      legend, status);
    el.append(root);

    // The spectrogram lives in an offscreen image one pixel per column and band; the canvas scales it.
    const width = 300;
    const image = new ImageData(width, bands);
    const column = (bytes) => {
      const data = image.data;
      data.copyWithin(0, 4, width * bands * 4);  // scroll everything one pixel left (row by row wraps harmlessly: fixed below)
      for (let b = 0; b < bands; b++) {
        const row = bands - 1 - b;  // low bands at the bottom
        const at = 4 * (row * width + width - 1);
        const v = bytes[b] * 4;
        data[at] = COLORS[v]; data[at + 1] = COLORS[v + 1]; data[at + 2] = COLORS[v + 2]; data[at + 3] = 255;
      }
      dirty = true;
    };
    const clear = () => { for (let i = 0; i < image.data.length; i += 4) { image.data.set(COLORS.subarray(0, 4), i); } };
    clear();
    let dirty = true;
    const buffer = document.createElement("canvas");
    buffer.width = width;
    buffer.height = bands;
    const bufferCtx = buffer.getContext("2d");

    let frames = 0;
    let lastFrame = 0;
    dispose.add(channel.on("frame", (msg, buffers) => {
      column(new Uint8Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].byteLength));
      frames += 1;
      lastFrame = performance.now();
      msg.rms.forEach((db, c) => { if (meters[c]) meters[c].level = db; });
      msg.peak.forEach((db, c) => {
        const m = meters[c];
        if (m && db >= m.hold) { m.hold = db; m.heldAt = performance.now(); }
      });
      root.dataset.frames = String(frames);
      readout.textContent = `${fmt(Math.max(...msg.peak), 1)} dBFS`;
    }));
    dispose.add(channel.on("history", (msg, buffers) => {
      const all = new Uint8Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].byteLength);
      clear();
      for (let i = 0; i < msg.columns; i++) column(all.subarray(i * bands, (i + 1) * bands));
    }));
    channel.request("history", {}, undefined, { quiet: true }).catch(() => {});

    const toPercent = (db) => Math.max(0, Math.min(100, 100 * (db - floor) / -floor));
    dispose.add(animate((now) => {
      const stale = now - lastFrame > 300;  // no audio (stopped): let the meters fall
      for (const m of meters) {
        if (stale) m.level = Math.max(floor, m.level - 2);
        if (now - m.heldAt > 1200) m.hold = Math.max(m.level, m.hold - 0.8);  // peak hold, then a slow fall
        m.rms.style.height = `${toPercent(m.level)}%`;
        m.peak.style.bottom = `calc(${toPercent(m.hold)}% - 3px)`;
        m.box.setAttribute("aria-valuenow", String(Math.round(m.level)));
      }
      if (!dirty) return;
      dirty = false;
      // A fresh column is written at the right edge of every row: the copyWithin above moved each row's
      // first pixel onto the previous row's last, which this rewrite of the right edge covers.
      bufferCtx.putImageData(image, 0, 0);
      const { width: w, height: hgt } = size();
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(buffer, 0, 0, w, hgt);
    }));
    return () => dispose.run();
  },
};
