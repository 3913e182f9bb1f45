// The Player: the engine's output, streamed from the kernel in binary messages and played by an
// AudioWorklet ring buffer (player-worklet.js).
//
// Audio belongs to the model, not to a view: one AudioContext per Player however many views show it,
// so a second view never plays the music twice. A view is only buttons and read-outs.

function shared(model) {  // the helpers module (shared.js), sent as a trait: see its header
  const cache = (globalThis.__lmkShared ??= new Map()), source = model.get("_shared");
  if (!cache.has(source)) cache.set(source, import(URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
  return cache.get(source);
}

const audios = new WeakMap();

/** The model's audio: context, worklet, and the stream from the kernel. */
class BrowserAudio {
  constructor(model, lmk) {
    this.model = model;
    this.channel = lmk.connect(model);
    this.ctx = null;
    this.node = null;
    this.post = null;
    this.state = "off";          // off, starting, playing, error
    this.stats = { received: 0, played: 0, underruns: 0, dropped: 0, fill: 0, playing: false, ratio: 1 };
    this.arrived = 0;            // frames that reached the page (the worklet's count is `stats.received`)
    this.sent = 0;               // the kernel's count, as of its newest message
    this.views = new Set();
    this.reporting = false;
    this.timers = [];
    this.off = [
      this.channel.on("audio", (msg, buffers) => this.push(msg, buffers)),
    ];
    const lead = () => { if (this.post) this.post({ type: "lead", frames: this.leadFrames() }); };
    model.on("change:lead_ms", lead);
    this.off.push(() => model.off("change:lead_ms", lead));
  }

  leadFrames() {
    return Math.round(this.model.get("lead_ms") / 1000 * this.model.get("sample_rate"));
  }

  /** Start listening. Call it from a click or key handler: browsers start audio only on a gesture. */
  start() {
    if (this.state === "starting" || this.state === "playing") return Promise.resolve();
    if (!this.ctx) {
      this.ctx = new AudioContext({ sampleRate: this.model.get("sample_rate"), latencyHint: "interactive" });
    }
    const resumed = this.ctx.resume();  // inside the gesture, before anything is awaited
    this.setState("starting");
    this.ready = this.ready || this.build().catch((error) => { this.ready = null; throw error; });
    return Promise.all([resumed, this.ready])
      .then(() => this.post({ type: "reset" }))  // no stale audio from before a stop
      .then(() => this.channel.request("start"))
      .then(() => this.setState("playing"))
      .catch((error) => { this.setState("error", error.message); throw error; });
  }

  stop() {
    if (this.state === "off") return Promise.resolve();
    this.setState("off");
    if (this.ctx) this.ctx.suspend();
    return this.channel.request("stop");
  }

  async build() {
    const channels = this.model.get("channels");
    const options = { channels, leadFrames: this.leadFrames() };
    const url = URL.createObjectURL(new Blob([this.model.get("_worklet")], { type: "text/javascript" }));
    if (this.ctx.audioWorklet) {
      await this.ctx.audioWorklet.addModule(url);
      this.node = new AudioWorkletNode(this.ctx, "lmk-player", {
        numberOfInputs: 0, outputChannelCount: [channels], processorOptions: options,
      });
      this.node.port.onmessage = ({ data }) => this.report(data);
      this.post = (msg, transfer) => this.node.port.postMessage(msg, transfer || []);
      this.kind = "AudioWorklet";
    } else {
      // Not a secure context (plain http to a remote server): no AudioWorklet. The same ring runs on
      // the page in a ScriptProcessorNode: more latency, same sound.
      const { StreamRing } = await import(url);
      const ring = new StreamRing(channels, this.ctx.sampleRate, options.leadFrames);
      this.node = this.ctx.createScriptProcessor(4096, 0, channels);
      this.node.onaudioprocess = (event) => {
        const outs = [];
        for (let c = 0; c < event.outputBuffer.numberOfChannels; c++) outs.push(event.outputBuffer.getChannelData(c));
        ring.render(outs);
      };
      this.post = (msg) => {
        if (msg.type === "audio") ring.push(msg.samples, msg.frames);
        else if (msg.type === "lead") ring.setLead(msg.frames);
        else if (msg.type === "reset") ring.reset();
      };
      this.timers.push(setInterval(() => this.report(ring.stats()), 100));
      this.kind = "ScriptProcessor (not a secure context)";
    }
    this.node.connect(this.ctx.destination);
  }

  /** A binary audio message from the kernel: decode, and hand it to the audio thread. */
  push(msg, buffers) {
    this.sent = msg.sent;
    if (!this.post || this.state === "off") return;  // not listening
    const view = buffers[0];
    const count = msg.frames * msg.channels;
    const samples = new Float32Array(count);
    if (msg.encoding === "int16") {
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(2 * i, true) / 32767;  // as the kernel scaled it
    } else {
      for (let i = 0; i < count; i++) samples[i] = view.getFloat32(4 * i, true);
    }
    this.arrived += msg.frames;
    this.post({ type: "audio", samples, frames: msg.frames }, [samples.buffer]);
  }

  /** The audio thread's figures: show them, and tell the kernel when it can listen. */
  report(stats) {
    this.stats = stats;
    for (const view of this.views) view();
    if (this.reporting || this.state !== "playing") return;
    this.reporting = true;
    const rate = this.ctx.sampleRate;
    const latency = (this.ctx.baseLatency || 0) + (this.ctx.outputLatency || 0);
    this.channel.request("report", {
      received: stats.received, played: stats.played, underruns: stats.underruns, dropped: stats.dropped,
      fill_ms: 1000 * stats.fill / rate, output_ms: 1000 * latency, context: this.kind,
    }, undefined, { quiet: true }).catch(() => {})
      .finally(() => { this.timers.push(setTimeout(() => { this.reporting = false; }, 1000)); });
  }

  setState(state, message = "") {
    this.state = state;
    this.message = message;
    for (const view of this.views) view();
  }

  dispose() {
    for (const off of this.off) off();
    for (const timer of this.timers) { clearInterval(timer); clearTimeout(timer); }
    if (this.ctx) this.ctx.close();
  }
}

async function audioOf(model) {
  if (!audios.has(model)) audios.set(model, new BrowserAudio(model, await shared(model)));
  return audios.get(model);
}

export default {
  async initialize({ model }) {
    const audio = await audioOf(model);
    return () => { audio.dispose(); audios.delete(model); };
  },

  async render({ model, el }) {
    const lmk = await shared(model);
    const { h, onChange, fmt, panel } = lmk;
    const audio = await audioOf(model);
    const { dispose, status, show, ask } = lmk.setup(model);

    const button = h("button", { class: "lmk-button lmk-primary lmk-listen", type: "button", "aria-pressed": "false" });
    button.addEventListener("click", () => {
      const action = audio.state === "playing" || audio.state === "starting" ? audio.stop() : audio.start();
      action.catch((error) => show(error.message));
    });
    const state = h("span", { class: "lmk-state" });
    const meter = h("div", { class: "lmk-meter", role: "meter", "aria-label": "browser buffer", "aria-valuemin": "0" },
      h("div", { class: "lmk-meter-fill" }), h("div", { class: "lmk-meter-mark" }));
    const figure = (label) => {
      const value = h("span", { class: "lmk-value" }, "–");
      return [h("div", { class: "lmk-figure" }, h("span", { class: "lmk-label" }, label), value), value];
    };
    const [bufferRow, bufferValue] = figure("buffer");
    const [underrunRow, underrunValue] = figure("underruns");
    const [receivedRow, receivedValue] = figure("received");
    const [latencyRow, latencyValue] = figure("latency");
    const lead = h("select", { class: "lmk-select", "aria-label": "buffer target" },
      ...[100, 150, 250, 500, 1000].map((ms) => h("option", { value: String(ms) }, `${ms} ms`)));
    lead.addEventListener("change", () => {
      ask("lead", { lead_ms: Number(lead.value) }).catch(() => { lead.value = String(model.get("lead_ms")); });
    });

    const root = panel("player", "Player",
      h("div", { class: "lmk-row" }, button, state),
      meter,
      h("div", { class: "lmk-figures lmk-figures-4" }, bufferRow, underrunRow, receivedRow, latencyRow),
      h("div", { class: "lmk-row lmk-spread" }, status,
        h("label", { class: "lmk-row lmk-small" }, h("span", { class: "lmk-label" }, "buffer"), lead)));
    el.append(root);

    const paint = () => {
      const on = audio.state === "playing" || audio.state === "starting";
      button.textContent = on ? "■ Stop listening" : "▶ Listen in browser";
      button.setAttribute("aria-pressed", String(on));
      const words = {
        off: "off: press to hear the engine here",
        starting: audio.channel.waiting ? "starting: waiting for the kernel" : "starting",
        playing: audio.stats.playing ? "playing" : "buffering",
        error: `error: ${audio.message}`,
      };
      state.textContent = words[audio.state];
      state.dataset.state = audio.state;
      const rate = model.get("sample_rate");
      const leadMs = model.get("lead_ms");
      const fillMs = 1000 * audio.stats.fill / rate;
      meter.firstChild.style.width = `${Math.min(100, 50 * fillMs / leadMs)}%`;
      meter.setAttribute("aria-valuenow", String(Math.round(fillMs)));
      meter.setAttribute("aria-valuemax", String(2 * leadMs));
      bufferValue.textContent = `${fmt(fillMs, 0)} ms`;
      underrunValue.textContent = String(audio.stats.underruns);
      underrunValue.dataset.bad = String(audio.stats.underruns > 0);
      receivedValue.textContent = `${fmt(audio.stats.received / rate, 1)} s`;
      const out = audio.ctx ? 1000 * ((audio.ctx.baseLatency || 0) + (audio.ctx.outputLatency || 0)) : 0;
      latencyValue.textContent = audio.ctx ? `${fmt(fillMs + out, 0)} ms` : "–";
      lead.value = String(model.get("lead_ms"));
      // For tests and the curious: the worklet's exact counts.
      root.dataset.framesReceived = String(audio.stats.received);
      root.dataset.framesArrived = String(audio.arrived);
      root.dataset.framesSent = String(audio.sent);
      root.dataset.underruns = String(audio.stats.underruns);
      root.dataset.state = audio.state;
    };
    audio.views.add(paint);
    dispose.add(() => audio.views.delete(paint));
    dispose.add(onChange(model, ["lead_ms", "streaming"], paint));
    paint();
    return () => dispose.run();
  },
};
