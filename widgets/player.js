// The Player: the engine's output, streamed from the kernel in binary messages and played by an
// AudioWorklet ring buffer (player-worklet.js). With the microphone on, the same worklet captures the
// browser's microphone, stamps it with the engine sample the performer heard, and the page sends it to
// the kernel in binary requests, where it is injected into the model's context (never played).
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
    this.mic = { state: "off", message: "", channels: 1, stream: null, source: null };
    this.micStats = { sent: 0, taken: 0, refused: 0, skipped: 0, unstamped: 0, peak: 0, rms: 0, pending: 0, error: "" };
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
    this.stopMic().catch(() => {});  // stamps need the music playing here: no music, no microphone
    this.setState("off");
    if (this.ctx) this.ctx.suspend();
    return this.channel.request("stop");
  }

  async build() {
    const channels = this.model.get("channels");
    const options = { channels, leadFrames: this.leadFrames(), engineRate: this.model.get("sample_rate") };
    const url = URL.createObjectURL(new Blob([this.model.get("_worklet")], { type: "text/javascript" }));
    if (this.ctx.audioWorklet) {
      await this.ctx.audioWorklet.addModule(url);
      this.node = new AudioWorkletNode(this.ctx, "lmk-player", {  // its input is the microphone, when on
        numberOfInputs: 1, outputChannelCount: [channels], processorOptions: options,
      });
      this.node.port.onmessage = ({ data }) => (data.type === "mic" ? this.sendMic(data) : this.report(data));
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
        if (msg.type === "audio") ring.push(msg.samples, msg.frames, msg.sample);
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
    this.post({ type: "audio", samples, frames: msg.frames, sample: msg.sample }, [samples.buffer]);
  }

  /**
   * The microphone on: ask for it, start listening if need be (the performer plays along with what
   * they hear), tell the kernel, and connect it to the worklet. Call it from a click.
   */
  async startMic() {
    if (this.mic.state === "on" || this.mic.state === "asking") return;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("browsers give a page the microphone only over https or on localhost");
    }
    const listening = this.start();  // inside the gesture, like Listen
    this.setMic("asking");
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: {
        channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      await listening;
      if (this.kind !== "AudioWorklet") throw new Error("the microphone needs AudioWorklet, which this page lacks");
      const source = this.ctx.createMediaStreamSource(stream);
      const channels = this.mic.channels;
      await this.channel.request("mic_start", { channels, context_rate: this.ctx.sampleRate });
      this.node.port.postMessage({ type: "mic-on", channels });
      Object.assign(this.mic, { stream, source });
      this.postLatency();
      source.connect(this.node);
      this.setMic("on");
    } catch (error) {
      if (stream) for (const track of stream.getTracks()) track.stop();
      const denied = error && error.name === "NotAllowedError";
      this.setMic("error", denied ? "the browser refused the microphone (allow it for this page)" : error.message);
      throw error;
    }
  }

  stopMic() {
    const { stream, source } = this.mic;
    if (source) source.disconnect();
    if (stream) for (const track of stream.getTracks()) track.stop();
    if (this.node && this.node.port) this.node.port.postMessage({ type: "mic-off" });
    const was = this.mic.state;
    Object.assign(this.mic, { stream: null, source: null });
    this.setMic("off");
    return was === "on" ? this.channel.request("mic_stop") : Promise.resolve();
  }

  /** Output latency (the context's base and output latency) plus the microphone's input latency. */
  micLatency() {
    const track = this.mic.stream && this.mic.stream.getAudioTracks()[0];
    const input = track && track.getSettings ? Number(track.getSettings().latency) || 0 : 0;
    return (this.ctx.baseLatency || 0) + (this.ctx.outputLatency || 0) + input;
  }

  postLatency() {
    if (this.mic.stream) this.node.port.postMessage({ type: "latency", seconds: this.micLatency() });
  }

  /** A stamped packet of microphone audio from the worklet: to the kernel as 16-bit PCM. */
  sendMic(packet) {
    const stats = this.micStats;
    Object.assign(stats, { peak: packet.peak, rms: packet.rms, unstamped: packet.unstamped });
    if (this.mic.state !== "on" || packet.sample < 0) return;
    if (stats.pending * packet.frames > 10 * this.model.get("sample_rate")) {
      stats.skipped += packet.frames;  // the kernel has not answered for 10 s: it would come too late anyway
      return;
    }
    const data = packet.data, pcm = new Int16Array(data.length);
    for (let i = 0; i < data.length; i++) pcm[i] = Math.round(Math.max(-1, Math.min(1, data[i])) * 32767);
    stats.pending += 1;
    stats.sent += packet.frames;
    this.channel.request("mic", { sample: packet.sample, frames: packet.frames, channels: this.mic.channels,
      encoding: "int16" }, [pcm.buffer], { quiet: true })
      .then(() => { stats.taken += packet.frames; })
      .catch((error) => { stats.refused += 1; stats.error = error.message; })
      .finally(() => { stats.pending -= 1; });
  }

  setMic(state, message = "") {
    this.mic.state = state;
    this.mic.message = message;
    for (const view of this.views) view();
  }

  /** The audio thread's figures: show them, and tell the kernel when it can listen. */
  report(stats) {
    this.stats = stats;
    for (const view of this.views) view();
    if (this.reporting || this.state !== "playing") return;
    this.reporting = true;
    this.postLatency();  // the browser's latency figures can change (another output device)
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
    this.stopMic().catch(() => {});
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
    const micButton = h("button", { class: "lmk-button lmk-mic", type: "button", "aria-pressed": "false" });
    micButton.addEventListener("click", () => {
      const action = audio.mic.state === "on" || audio.mic.state === "asking" ? audio.stopMic() : audio.startMic();
      action.catch((error) => show(error.message));
    });
    const micState = h("span", { class: "lmk-state lmk-mic-state" });
    const micMeter = h("div", { class: "lmk-meter lmk-mic-meter", role: "meter", "aria-label": "microphone level",
      "aria-valuemin": "-60", "aria-valuemax": "0" }, h("div", { class: "lmk-meter-fill" }));
    const micGain = h("input", { class: "lmk-range lmk-mic-gain", type: "range", min: "0", max: "4", step: "0.05",
      "aria-label": "microphone gain" });
    const micGainValue = h("span", { class: "lmk-value lmk-small" });
    const showGain = (gain) => {
      micGainValue.textContent = `×${fmt(gain, 2)}`;
      micGain.style.setProperty("--lmk-fill", `${100 * Math.min(gain, 4) / 4}%`);
    };
    micGain.addEventListener("input", () => showGain(Number(micGain.value)));
    micGain.addEventListener("change", () => {
      ask("mic_gain", { gain: Number(micGain.value) }).catch(() => { micGain.value = String(model.get("mic_gain")); });
    });
    const lead = h("select", { class: "lmk-select", "aria-label": "buffer target" },
      ...[100, 150, 250, 500, 1000].map((ms) => h("option", { value: String(ms) }, `${ms} ms`)));
    lead.addEventListener("change", () => {
      ask("lead", { lead_ms: Number(lead.value) }).catch(() => { lead.value = String(model.get("lead_ms")); });
    });

    const root = panel("player", "Player",
      h("div", { class: "lmk-row" }, button, state),
      meter,
      h("div", { class: "lmk-figures lmk-figures-4" }, bufferRow, underrunRow, receivedRow, latencyRow),
      h("div", { class: "lmk-row lmk-mic-row" }, micButton, micMeter,
        h("label", { class: "lmk-row lmk-small", title: "the microphone's level in the model's context" },
          h("span", { class: "lmk-label" }, "mic gain"), micGain, micGainValue)),
      micState,
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
      const micOn = audio.mic.state === "on" || audio.mic.state === "asking";
      // A recorder's dot, not an emoji: every font has it (a projector PC without emoji fonts shows a box).
      micButton.textContent = micOn ? "■ Mic off" : model.get("mic") ? "● Resume mic" : "● Play along (mic)";
      micButton.setAttribute("aria-pressed", String(micOn));
      micButton.title = "inject this browser's microphone into the model's context (it is never played back)";
      const kernel = model.get("mic_input") || {};
      const micWords = {
        off: model.get("mic") ? "mic: on in the kernel, not in this page" : "mic: off",
        asking: "mic: asking the browser",
        on: `mic: into the model · ${fmt((kernel.frames || 0) / rate, 1)} s taken` +
          (kernel.lag_ms ? ` · heard ${fmt(kernel.lag_ms, 0)} ms behind the kernel` : ""),
        error: `mic: ${audio.mic.message}`,
      };
      micState.textContent = micWords[audio.mic.state];
      micState.dataset.state = audio.mic.state;
      const db = 20 * Math.log10(Math.max(audio.micStats.rms, 1e-6));
      micMeter.firstChild.style.width = `${micOn ? Math.max(0, Math.min(100, (db + 60) / 60 * 100)) : 0}%`;
      micMeter.setAttribute("aria-valuenow", String(Math.round(db)));
      if (document.activeElement !== micGain) {
        micGain.value = String(model.get("mic_gain"));
        showGain(model.get("mic_gain"));
      }
      root.dataset.micState = audio.mic.state;
      root.dataset.micSent = String(audio.micStats.sent);
      root.dataset.micTaken = String(audio.micStats.taken);
      root.dataset.micRefused = String(audio.micStats.refused);
      root.dataset.micUnstamped = String(audio.micStats.unstamped);
      root.dataset.micPeak = String(audio.micStats.peak);
      // For tests and the curious: the worklet's exact counts.
      root.dataset.framesReceived = String(audio.stats.received);
      root.dataset.framesArrived = String(audio.arrived);
      root.dataset.framesSent = String(audio.sent);
      root.dataset.underruns = String(audio.stats.underruns);
      root.dataset.state = audio.state;
    };
    audio.views.add(paint);
    dispose.add(() => audio.views.delete(paint));
    dispose.add(onChange(model, ["lead_ms", "streaming", "mic", "mic_gain", "mic_input"], paint));
    paint();
    return () => dispose.run();
  },
};
