// Helpers every view of the instrument uses: building DOM, talking to the kernel, ticking the beat.
//
// anywidget loads each widget's module from a blob URL, where relative imports cannot work. So the kernel
// sends this module's source as every widget's `_shared` trait, and each widget module imports it with a
// five-line `shared(model)`, from a blob URL of its own, once per page.

/** Build an element: h("button", {class: "x", onclick: fn, "aria-label": "Play"}, "Play"). */
export function h(tag, props = {}, ...children) {
  const el = tag === "svg" || props.svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false || key === "svg") continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "text") el.textContent = value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key in el && !key.includes("-") && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Collects cleanup functions; `run()` calls them all once (what a view's render returns). */
export function disposer() {
  const fns = [];
  return {
    add(fn) { fns.push(fn); return fn; },
    run() { while (fns.length) { try { fns.pop()(); } catch (error) { console.error(error); } } },
  };
}

/** Subscribe to trait changes; returns the unsubscribe function. */
export function onChange(model, names, fn) {
  const events = names.map((name) => `change:${name}`).join(" ");
  model.on(events, fn);
  return () => model.off(events, fn);
}

const channels = new WeakMap();

/**
 * The kernel connection of a model: `request(type, fields, buffers)` sends a request and resolves with
 * the kernel's reply (or rejects with its error); `on(type, fn)` receives the kernel's own messages.
 * One per model, shared by all its views.
 */
export function connect(model) {
  let channel = channels.get(model);
  if (channel) return channel;
  const pending = new Map();
  const listeners = new Map();
  let nextId = 1;
  const busy = new Set();
  model.on("msg:custom", (msg, buffers) => {
    if (msg && msg.type === "reply") {
      const waiter = pending.get(msg.id);
      if (waiter) {
        pending.delete(msg.id);
        waiter.settle(msg);
      } else if (!msg.ok) {
        for (const fn of listeners.get("error") || []) fn(msg, buffers);
      }
      return;
    }
    for (const fn of listeners.get(msg && msg.type) || []) fn(msg, buffers);
  });
  channel = {
    request(type, fields = {}, buffers = undefined, { quiet = false } = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        // A kernel running a cell answers only when the cell ends: say so instead of looking broken.
        const slow = quiet ? null : setTimeout(() => { busy.add(id); notify(); }, 700);
        const settle = (msg) => {
          clearTimeout(slow);
          busy.delete(id);
          notify();
          if (msg.ok) resolve(msg.result);
          else reject(new Error(msg.error || "refused"));
        };
        pending.set(id, { settle });
        model.send({ type, id, ...fields }, undefined, buffers);
      });
    },
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
      return () => listeners.get(type).delete(fn);
    },
    get waiting() { return busy.size; },
  };
  function notify() {
    for (const fn of listeners.get("busy") || []) fn({ waiting: busy.size });
  }
  channels.set(model, channel);
  return channel;
}

/**
 * A status line at the foot of a widget: errors from the kernel (shown for a while) and a note while
 * requests wait for a busy kernel. Returns [element, show(message, kind)].
 */
export function statusLine(channel, dispose) {
  const el = h("div", { class: "lmk-status", role: "status", "aria-live": "polite" });
  let timer = null;
  const show = (message, kind = "error") => {
    el.textContent = message;
    el.dataset.kind = kind;
    clearTimeout(timer);
    if (kind !== "busy") timer = setTimeout(() => { el.textContent = ""; delete el.dataset.kind; }, 6000);
  };
  dispose.add(channel.on("error", (msg) => show(msg.error)));
  dispose.add(channel.on("busy", ({ waiting }) => {
    if (waiting) show("waiting for the kernel: a cell is running, your change is queued", "busy");
    else if (el.dataset.kind === "busy") { el.textContent = ""; delete el.dataset.kind; }
  }));
  dispose.add(() => clearTimeout(timer));
  return [el, show];
}

/**
 * What every view starts with: its model's kernel connection, a disposer for its cleanup, a status
 * line, and `ask(type, fields, buffers)`, a request whose error the status line shows.
 */
export function setup(model) {
  const dispose = disposer();
  const channel = connect(model);
  const [status, show] = statusLine(channel, dispose);
  const ask = (type, fields, buffers) =>
    channel.request(type, fields, buffers).catch((error) => { show(error.message); throw error; });
  return { dispose, channel, status, show, ask };
}

/**
 * Calls `fn(value)` at most every `ms` milliseconds with the newest value, and once more after the
 * last call so the final value always arrives. `flush()` sends a waiting value now.
 */
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  let waiting = undefined;
  const fire = () => {
    timer = null;
    last = performance.now();
    const value = waiting;
    waiting = undefined;
    fn(value);
  };
  const call = (value) => {
    waiting = value;
    if (timer) return;
    const wait = last + ms - performance.now();
    if (wait <= 0) fire();
    else timer = setTimeout(fire, wait);
  };
  call.flush = () => { if (timer) { clearTimeout(timer); fire(); } };
  call.cancel = () => { clearTimeout(timer); timer = null; };
  return call;
}

/**
 * A control's requests while the user moves it: `call(value)` runs `request(value)` (a promise, or
 * nothing to send nothing), throttled like `throttle`; `call.inflight` counts the answers still
 * awaited, and `settled()` runs when the last one arrives. The kernel syncs its traits before it
 * replies, so until then a view shows the hand's value: a trait echoing an earlier request would
 * pull the control back for a moment.
 */
export function throttledRequest(request, ms, settled) {
  let inflight = 0;
  const call = throttle((value) => {
    const answer = request(value);
    if (!answer) return;
    inflight += 1;
    answer.catch(() => {}).finally(() => {
      inflight -= 1;
      if (!inflight) settled();
    });
  }, ms);
  Object.defineProperty(call, "inflight", { get: () => inflight });
  return call;
}

/**
 * The beat now, extrapolated from the kernel's last `clock` trait ({beat, bpm, beats_per_bar,
 * running}) so a display ticks smoothly between the kernel's few updates a second.
 */
export function beatClock(model, name = "clock") {
  let anchor = model.get(name) || {};
  let at = performance.now();
  const off = onChange(model, [name], () => { anchor = model.get(name) || {}; at = performance.now(); });
  return {
    get state() { return anchor; },
    beat() {
      if (!anchor.running) return anchor.beat || 0;
      // Never run more than a second past the last update: a stalled kernel must not look alive.
      const elapsed = Math.min((performance.now() - at) / 1000, 1);
      return anchor.beat + elapsed * anchor.bpm / 60;
    },
    dispose: off,
  };
}

/**
 * Repaint with requestAnimationFrame, at most `fps` times a second (the kernel may share a small
 * machine with this browser: a display needs no more); returns a stop function.
 */
export function animate(fn, fps = 30) {
  let last = -Infinity;
  let frame = requestAnimationFrame(function tick(time) {
    if (time - last >= 1000 / fps - 2) {
      last = time;
      fn(time);
    }
    frame = requestAnimationFrame(tick);
  });
  return () => cancelAnimationFrame(frame);
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toFixed(digits);
}

/** The widget's frame: a titled panel with a body and a status line. */
export function panel(kind, title, ...body) {
  return h("section", { class: `lmk lmk-panel lmk-${kind}`, "aria-label": title },
    h("header", { class: "lmk-title" }, title), ...body);
}

/** A canvas that keeps its backing store at the device's pixel ratio; returns [canvas, context, size]. */
export function crispCanvas(cls, label) {
  const canvas = h("canvas", { class: cls, role: "img", "aria-label": label });
  const ctx = canvas.getContext("2d");
  const size = () => {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(width * ratio));
    const hgt = Math.max(1, Math.round(height * ratio));
    if (canvas.width !== w || canvas.height !== hgt) { canvas.width = w; canvas.height = hgt; }
    return { width: w, height: hgt, ratio };
  };
  return [canvas, ctx, size];
}

/** The instrument's colours, read from the CSS so a canvas matches the controls around it. */
export function palette(el) {
  const css = getComputedStyle(el);
  const get = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: get("--lmk-bg", "#14161c"), panel: get("--lmk-panel", "#1d2029"), line: get("--lmk-line", "#2e3340"),
    text: get("--lmk-text", "#eef0f5"), muted: get("--lmk-muted", "#a3abbd"), accent: get("--lmk-accent", "#ffb23e"),
    cool: get("--lmk-cool", "#46d4c4"), warn: get("--lmk-warn", "#ff6b6b"),
  };
}
