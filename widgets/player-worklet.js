// The Player's audio thread: a ring buffer between the kernel's stream and the sound card.
//
// The kernel pushes audio at its own real-time pace; this ring absorbs the network's jitter. Playback
// starts (and restarts after an underrun) only once `lead` frames are buffered. The browser's audio
// clock and the kernel's never run at exactly the same rate, so when the fill strays more than a
// quarter of the lead from it, the ring steers back by reading a touch faster or slower (at most 0.2%,
// a few cents: inaudible), with 4-point Hermite interpolation; near the lead again it plays the exact
// samples once more. Too much audio (a stalled tab) drops the oldest, counted.
//
// The same file runs as an AudioWorklet module, and on the page itself in the fallback for pages that
// are not a secure context (plain http to a remote server), where AudioWorklet does not exist.
//
// The ring also knows which of the engine's samples it plays (each push says where its audio starts),
// so the worklet can tell the kernel, for the browser's microphone (MicCapture below), which output
// sample the performer heard while they played each piece of input.

export class StreamRing {
  constructor(channels, sampleRate, leadFrames, seconds = 4) {
    this.channels = channels;
    this.capacity = Math.max(1 << 12, 1 << Math.ceil(Math.log2(sampleRate * seconds)));
    this.mask = this.capacity - 1;
    this.data = Array.from({ length: channels }, () => new Float32Array(this.capacity));
    this.setLead(leadFrames);
    this.written = 0;        // frames ever written
    this.position = 0;       // read position, in frames (fractional while steering)
    this.playing = false;
    this.ratio = 1;
    this.steering = false;
    this.smoothedFill = 0;
    this.received = 0;       // frames received from the kernel
    this.played = 0;         // frames played (output frames that held audio)
    this.underruns = 0;      // times the ring ran dry and audio came again: gaps, not the stream's end
    this.dry = false;
    this.dropped = 0;
    this.spans = [];         // [ring frame, engine sample] where each run of consecutive audio starts
    this.heard = -1;         // the engine sample the last render() began with (-1: it played silence)
  }

  setLead(frames) {
    this.lead = Math.max(128, Math.min(frames, this.capacity / 2));
    this.gain = 0.002 / this.lead;  // a full lead too much reads 0.2% faster
  }

  get fill() { return this.written - this.position; }

  /** Forget what is buffered (listening again after a stop); the counts go on. */
  reset() {
    this.position = this.written;
    this.playing = false;
    this.steering = false;
    this.dry = false;
  }

  /** Append interleaved float32 frames; `sample` is the engine sample of the first (if known). */
  push(interleaved, frames, sample = undefined) {
    if (sample !== undefined && sample !== null) {
      const last = this.spans[this.spans.length - 1];
      if (!last || last[1] + (this.written - last[0]) !== sample) this.spans.push([this.written, sample]);
      if (this.spans.length > 64) this.spans.shift();  // a run per gap in the stream: a few at most
    }
    const channels = this.channels;
    for (let i = 0; i < frames; i++) {
      const at = (this.written + i) & this.mask;
      for (let c = 0; c < channels; c++) this.data[c][at] = interleaved[i * channels + c];
    }
    this.written += frames;
    this.received += frames;
    if (this.dry) { this.underruns += 1; this.dry = false; }
    const over = this.fill - (this.capacity - 8);
    if (over > 0) {  // the page stalled for seconds: keep the newest audio, latency stays bounded
      this.position += over;
      this.dropped += over;
    }
  }

  /** The engine sample at ring frame `frame`, or -1 where the stream did not say. */
  sampleAt(frame) {
    for (let i = this.spans.length - 1; i >= 0; i--) {
      if (this.spans[i][0] <= frame) return this.spans[i][1] + (frame - this.spans[i][0]);
    }
    return -1;
  }

  /** Fill `outputs` (one Float32Array per channel) with the next frames. */
  render(outputs) {
    const frames = outputs[0].length;
    this.heard = -1;
    if (!this.playing) {
      if (this.fill >= this.lead) {
        this.playing = true;
        this.smoothedFill = this.fill;
      } else {
        for (const out of outputs) out.fill(0);
        return;
      }
    }
    this.smoothedFill += (this.fill - this.smoothedFill) * 0.01;
    const error = this.smoothedFill - this.lead;
    if (Math.abs(error) > this.lead / 4) this.steering = true;
    else if (Math.abs(error) < this.lead / 16) this.steering = false;
    this.ratio = this.steering ? 1 + Math.max(-0.002, Math.min(0.002, error * this.gain)) : 1;
    const data = this.data;
    const mask = this.mask;
    // Back near the lead: onto a whole frame (a sub-sample step), so the samples play exactly again.
    let position = this.steering ? this.position : Math.round(this.position);
    if (position + 2 < this.written) this.heard = this.sampleAt(Math.floor(position));
    let i = 0;
    for (; i < frames; i++) {
      const base = Math.floor(position);
      if (base + 2 >= this.written) break;  // Hermite needs one frame ahead of the sample it reads
      const t = position - base;
      for (let c = 0; c < outputs.length && c < this.channels; c++) {
        const d = data[c];
        const y0 = d[(base - 1) & mask], y1 = d[base & mask], y2 = d[(base + 1) & mask], y3 = d[(base + 2) & mask];
        if (t === 0) { outputs[c][i] = y1; continue; }
        const c1 = 0.5 * (y2 - y0);
        const c2 = y0 - 2.5 * y1 + 2 * y2 - 0.5 * y3;
        const c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);
        outputs[c][i] = ((c3 * t + c2) * t + c1) * t + y1;
      }
      position += this.ratio;
    }
    this.position = position;
    this.played += i;
    if (i < frames) {  // ran dry: silence, and buffer the lead again before playing on
      for (const out of outputs) out.fill(0, i);
      this.dry = true;
      this.playing = false;
    }
    for (let c = this.channels; c < outputs.length; c++) outputs[c].set(outputs[0]);
  }

  stats() {
    return {
      received: this.received, played: this.played, underruns: this.underruns, dropped: this.dropped,
      fill: Math.max(0, Math.floor(this.fill)), playing: this.playing, ratio: this.ratio,
    };
  }
}

/**
 * The browser's microphone, captured for the kernel: resampled to the engine's rate when the audio
 * context runs at another, cut into packets, and each packet stamped with the engine sample the
 * performer heard as they played its first frame.
 *
 * Time: input that reaches the worklet at context frame F left the performer `inputLatency` earlier;
 * at that moment they heard what the context rendered `outputLatency` (base plus output latency)
 * before. So the packet starting at context frame F was played against the output the context
 * rendered at F - (input + output latency) * rate, and `heard(frame, sample)` (called every quantum
 * with what the ring played) says which engine sample that was. Where the output was silent (an
 * underrun), the stamp runs on from the last sample that played; before anything played there is
 * no stamp, and the packet is not sent (counted as `unstamped`).
 */
export class MicCapture {
  constructor(channels, inputRate, engineRate, packetFrames = Math.round(engineRate / 25)) {
    this.channels = channels;
    this.inputRate = inputRate;
    this.engineRate = engineRate;
    this.step = inputRate / engineRate;   // input frames per engine frame
    this.packetFrames = packetFrames;
    this.packet = new Float32Array(packetFrames * channels);
    this.filled = 0;
    this.packetStart = 0;                 // the context frame of the packet's first frame
    this.position = 0;                    // the next output frame's place in the current input block
    this.previous = new Float32Array(channels);  // the last input frame of the block before
    this.latency = 0;                     // seconds, input plus output
    this.history = new Float64Array(2 * 2048);   // [context frame, engine sample] per quantum
    this.entries = 0;
    this.lastHeard = null;                // [context frame, engine sample] of the newest that played
    this.sent = 0;                        // frames packed and stamped
    this.unstamped = 0;                   // frames dropped: nothing had played yet
    this.peak = 0;
  }

  setLatency(seconds) { this.latency = Math.max(0, Math.min(5, seconds || 0)); }

  /** The output: at context frame `frame` the ring began playing engine sample `sample` (-1: silence). */
  heard(frame, sample) {
    if (sample < 0) return;
    const at = (this.entries % 2048) * 2;
    this.history[at] = frame;
    this.history[at + 1] = sample;
    this.entries += 1;
  }

  /** The engine sample playing at context frame `frame` (fractional), or -1 if nothing had played. */
  sampleAt(frame) {
    const newest = Math.min(this.entries, 2048);
    let best = -1;
    for (let k = 1; k <= newest; k++) {
      const at = ((this.entries - k) % 2048) * 2;
      if (this.history[at] <= frame) { best = at; break; }
    }
    if (best < 0) {
      if (!newest) return -1;
      best = ((this.entries - newest) % 2048) * 2;  // older than we remember: run back from the oldest
    }
    // The ring plays one engine frame per context frame (steering moves it by 0.2% at most).
    return this.history[best + 1] + Math.round(frame - this.history[best]);
  }

  /**
   * One quantum of input (one Float32Array per channel; none when no microphone is connected)
   * starting at context frame `frame`. Returns the packets completed: {sample, frames, data, peak, rms}.
   */
  capture(inputs, frame) {
    const done = [];
    if (!inputs || !inputs.length || !inputs[0].length) return done;
    const n = inputs[0].length;
    const channels = this.channels;
    const read = (c, i) => {  // a mono microphone feeds every channel; extra input channels are mixed
      const input = inputs.length === 1 ? inputs[0] : inputs[Math.min(c, inputs.length - 1)];
      return i < 0 ? this.previous[c] : input[i];
    };
    const emit = (value, c) => { this.packet[this.filled * channels + c] = value; };
    const advance = (contextFrame) => {
      if (this.filled === 0) this.packetStart = contextFrame;
      this.filled += 1;
      if (this.filled === this.packetFrames) done.push(this.seal());
    };
    if (this.step === 1) {  // same rate: the exact samples
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < channels; c++) emit(read(c, i), c);
        advance(frame + i);
      }
    } else {  // linear interpolation between input frames: enough for a model's context
      let p = this.position;
      while (p < n - 1) {
        const i = Math.floor(p), t = p - i;
        for (let c = 0; c < channels; c++) emit(read(c, i) * (1 - t) + read(c, i + 1) * t, c);
        advance(frame + p);
        p += this.step;
      }
      this.position = p - n;
    }
    for (let c = 0; c < channels; c++) this.previous[c] = read(c, n - 1);
    return done;
  }

  seal() {
    const frames = this.filled;
    this.filled = 0;
    const data = this.packet.slice(0, frames * this.channels);
    let peak = 0, sum = 0;
    for (let i = 0; i < data.length; i++) { const v = Math.abs(data[i]); if (v > peak) peak = v; sum += v * v; }
    this.peak = peak;
    const heardFrame = this.packetStart - this.latency * this.inputRate;
    const sample = this.sampleAt(heardFrame);
    if (sample < 0) { this.unstamped += frames; return { sample: -1, frames, data, peak, rms: Math.sqrt(sum / data.length) }; }
    this.sent += frames;
    return { sample, frames, data, peak, rms: Math.sqrt(sum / data.length) };
  }
}

if (typeof AudioWorkletProcessor !== "undefined") {
  class PlayerProcessor extends AudioWorkletProcessor {
    constructor(options) {
      super();
      const { channels, leadFrames } = options.processorOptions;
      this.ring = new StreamRing(channels, sampleRate, leadFrames);
      this.reportEvery = Math.round(sampleRate / 10);  // ten reports a second
      this.sinceReport = 0;
      this.engineRate = options.processorOptions.engineRate || sampleRate;
      this.mic = null;
      this.port.onmessage = ({ data }) => {
        if (data.type === "audio") this.ring.push(data.samples, data.frames, data.sample);
        else if (data.type === "lead") this.ring.setLead(data.frames);
        else if (data.type === "reset") this.ring.reset();
        else if (data.type === "report") this.port.postMessage(this.ring.stats());
        else if (data.type === "mic-on") this.mic = new MicCapture(data.channels, sampleRate, this.engineRate);
        else if (data.type === "mic-off") this.mic = null;
        else if (data.type === "latency" && this.mic) this.mic.setLatency(data.seconds);
      };
    }

    process(inputs, outputs) {
      this.ring.render(outputs[0]);
      if (this.mic) {
        this.mic.heard(currentFrame, this.ring.heard);
        for (const packet of this.mic.capture(inputs[0], currentFrame)) {
          this.port.postMessage({ type: "mic", ...packet, unstamped: this.mic.unstamped }, [packet.data.buffer]);
        }
      }
      this.sinceReport += outputs[0][0].length;
      if (this.sinceReport >= this.reportEvery) {
        this.sinceReport = 0;
        this.port.postMessage(this.ring.stats());
      }
      return true;
    }
  }
  registerProcessor("lmk-player", PlayerProcessor);
}
