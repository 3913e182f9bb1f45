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

  /** Append interleaved float32 frames. */
  push(interleaved, frames) {
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

  /** Fill `outputs` (one Float32Array per channel) with the next frames. */
  render(outputs) {
    const frames = outputs[0].length;
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

if (typeof AudioWorkletProcessor !== "undefined") {
  class PlayerProcessor extends AudioWorkletProcessor {
    constructor(options) {
      super();
      const { channels, leadFrames } = options.processorOptions;
      this.ring = new StreamRing(channels, sampleRate, leadFrames);
      this.reportEvery = Math.round(sampleRate / 10);  // ten reports a second
      this.sinceReport = 0;
      this.port.onmessage = ({ data }) => {
        if (data.type === "audio") this.ring.push(data.samples, data.frames);
        else if (data.type === "lead") this.ring.setLead(data.frames);
        else if (data.type === "reset") this.ring.reset();
        else if (data.type === "report") this.port.postMessage(this.ring.stats());
      };
    }

    process(inputs, outputs) {
      this.ring.render(outputs[0]);
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
