// The Timeline: bars scroll right to left past a playhead; scheduled changes are marks, morphs and ramps
// are spans, clock callbacks are ticks. A list below names what comes next, for screen readers too.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

const LANES = ["change", "morph", "callback"];
const LANE_NAMES = { change: "changes", morph: "morphs & ramps", callback: "callbacks" };

export default {
  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, panel, crispCanvas, animate, beatClock, palette } = lmk;
    const { dispose, status } = lmk.setup(model);
    const [canvas, ctx, size] = crispCanvas("lmk-timeline-canvas", "what is scheduled, on a strip of bars moving past the playhead");
    const list = h("ul", { class: "lmk-timeline-list", "aria-label": "coming up" });
    const root = panel("timeline", "Timeline", canvas, list, status);
    el.append(root);
    const clock = beatClock(model);
    dispose.add(clock.dispose);
    const colors = palette(root);
    const laneColor = { change: colors.accent, morph: colors.cool, callback: "#8f7cff" };

    const position = (beat, perBar) => {
      const bar = Math.floor(beat / perBar) + 1;
      const inBar = beat - (bar - 1) * perBar + 1;
      return `${bar}.${inBar.toFixed(inBar % 1 ? 2 : 0)}`;
    };

    const paintList = () => {
      const items = model.get("items");
      const perBar = model.get("clock").beats_per_bar || 4;
      const now = clock.beat();
      const next = items.filter((it) => (it.end ?? it.beat) >= now - 1e-6).slice(0, 12);
      list.replaceChildren(...(next.length ? next.map((it) => h("li", {},
        h("span", { class: "lmk-num" }, it.now ? "next" : position(it.beat, perBar)),
        h("span", {}, `${it.label}${it.end !== undefined ? ` (to ${position(it.end, perBar)})` : ""}`)))
        : [h("li", { class: "lmk-hint" }, h("span", {}, ""), h("span", {}, "nothing scheduled"))]));
      root.dataset.items = String(items.length);
    };
    dispose.add(onChange(model, ["items"], paintList));
    paintList();

    dispose.add(animate(() => {
      const { width, height, ratio } = size();
      const state = clock.state;
      const perBar = state.beats_per_bar || 4;
      const now = clock.beat();
      const behind = model.get("bars_behind") * perBar;
      const ahead = model.get("bars_ahead") * perBar;
      const start = now - behind;
      const span = behind + ahead;
      const x = (beat) => ((beat - start) / span) * width;
      const laneTop = 22 * ratio;
      const laneHeight = (height - laneTop - 6 * ratio) / LANES.length;
      ctx.clearRect(0, 0, width, height);
      ctx.font = `${13 * ratio}px system-ui, sans-serif`;
      ctx.textBaseline = "middle";

      // Bars and beats.
      for (let beat = Math.ceil(start); beat <= start + span; beat++) {
        const down = ((beat % perBar) + perBar) % perBar === 0;
        ctx.fillStyle = down ? colors.line : "rgba(52, 58, 75, 0.45)";
        ctx.fillRect(Math.round(x(beat)), laneTop, (down ? 2 : 1) * ratio, height - laneTop);
        if (down) {
          ctx.fillStyle = colors.muted;
          ctx.fillText(String(Math.floor(beat / perBar) + 1), x(beat) + 4 * ratio, 11 * ratio);
        }
      }
      // Lanes.
      LANES.forEach((lane, i) => {
        ctx.fillStyle = colors.muted;
        ctx.globalAlpha = 0.55;
        ctx.fillText(LANE_NAMES[lane], 6 * ratio, laneTop + laneHeight * i + 10 * ratio);
        ctx.globalAlpha = 1;
      });
      // Items, labels staggered so neighbours do not print over each other.
      const lastLabelEnd = {};
      for (const item of model.get("items")) {
        const lane = LANES.indexOf(item.lane);
        const y0 = laneTop + laneHeight * lane;
        const mid = y0 + laneHeight * 0.6;
        const from = item.now ? now : item.beat;
        if ((item.end ?? from) < start || from > start + span) continue;
        ctx.fillStyle = laneColor[item.lane];
        if (item.end !== undefined) {
          const a = Math.max(0, x(from));
          const b = Math.min(width, x(item.end));
          ctx.globalAlpha = 0.35;
          ctx.fillRect(a, mid - 7 * ratio, Math.max(2 * ratio, b - a), 14 * ratio);
          ctx.globalAlpha = 1;
          ctx.fillRect(a, mid - 7 * ratio, 3 * ratio, 14 * ratio);
        } else {
          const cx = x(from);
          ctx.beginPath();
          ctx.moveTo(cx, mid - 7 * ratio); ctx.lineTo(cx + 7 * ratio, mid); ctx.lineTo(cx, mid + 7 * ratio); ctx.lineTo(cx - 7 * ratio, mid);
          ctx.fill();
        }
        const labelX = Math.max(x(from) + 10 * ratio, 4 * ratio);
        if (labelX > (lastLabelEnd[lane] ?? -Infinity)) {
          ctx.fillStyle = colors.text;
          ctx.fillText(item.label, labelX, mid);
          lastLabelEnd[lane] = labelX + ctx.measureText(item.label).width + 12 * ratio;
        }
      }
      // The playhead.
      ctx.fillStyle = colors.accent;
      ctx.fillRect(Math.round(x(now)) - ratio, laneTop - 4 * ratio, 2 * ratio, height - laneTop + 4 * ratio);
      root.dataset.beat = now.toFixed(3);
    }));
    const relist = setInterval(paintList, 500);  // items leave the list as the music passes them
    dispose.add(() => clearInterval(relist));
    return () => dispose.run();
  },
};
