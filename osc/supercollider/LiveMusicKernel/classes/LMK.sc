// livemusic-kernel from SuperCollider: steer a live music model over OSC.
// Start the engine with `lmk serve` (it listens on 127.0.0.1:57130), then
//   l = LMK.new; l.prompt(\main, "minimal techno"); l.onBeat({ |beat, bar| ... }); l.subscribe;
// Every message the engine cannot carry out comes back as /lmk/error, shown here as a warning.

LMK {
	classvar <>current;
	var <addr, <beat, <bar, <beatFuncs, <errorFuncs, <notifyFuncs, oscFuncs;
	var <server, <ring, <phaseBus, <phaseNode, <injectRing, <injectSynth;

	*new { |host = "127.0.0.1", port = 57130|
		^super.new.init(host, port)
	}

	// The model's audio inside any SynthDef (after l.audio(s) has called its action): the ring that the
	// engine fills, read at the position being heard. Synths using it go anywhere after the head of the
	// root group (the default group is fine): the phase synth sits at its head.
	*ar { |lmk|
		lmk = lmk ? current;
		if(lmk.isNil or: { lmk.ring.isNil }) {
			Error("LMK.ar: no audio route yet: call l.audio(server) and build the SynthDef in its action "
				"(LMK.jackAr is the JACK route)").throw
		};
		^BufRd.ar(2, lmk.ring.bufnum, In.ar(lmk.phaseBus.index), 1, 1)
	}

	// The JACK route, where JACK runs: start the engine with
	//   lmk serve --sink soundcard --device SuperCollider
	// and its output feeds scsynth's first two inputs.
	*jackAr { |firstInput = 0| ^SoundIn.ar([firstInput, firstInput + 1]) }

	// The SynthDefs the route uses: lmkPhase writes the ring position heard to a bus (the engine starts it
	// on the time of a sample), lmkInject records a bus into the injection ring at that position.
	*synthDefs {
		^[
			SynthDef(\lmkPhase, { |bus, frames = 1, start = 0|
				Out.ar(bus, (Phasor.ar(0, 1, 0, frames) + start) % frames)
			}),
			SynthDef(\lmkInject, { |in, buf, phaseBus|
				BufWr.ar(In.ar(in, 2), buf, In.ar(phaseBus), 1)
			})
		]
	}

	init { |host, port|
		addr = NetAddr(host, port);
		beatFuncs = List.new;
		errorFuncs = List.new;
		notifyFuncs = IdentityDictionary.new;
		oscFuncs = [
			OSCFunc({ |msg|
				beat = msg[1]; bar = msg[2];
				beatFuncs.do { |func| func.value(beat, bar) };
			}, '/lmk/beat', addr),
			OSCFunc({ |msg|
				"LMK: % failed: %".format(msg[1], msg[2]).warn;
				errorFuncs.do { |func| func.value(msg[1], msg[2]) };
			}, '/lmk/error', addr)
		] ++ [\bar, \block, \levels, \latency].collect { |topic|
			notifyFuncs[topic] = List.new;
			OSCFunc({ |msg| notifyFuncs[topic].do { |func| func.valueArray(msg.drop(1)) } },
				("/lmk/" ++ topic).asSymbol, addr)
		};
	}

	// prompts and styles
	prompt { |slot = \main, text, weight = 1.0| addr.sendMsg('/lmk/prompt', slot.asString, text.asString, weight.asFloat) }
	promptAudio { |slot, path, weight = 1.0| addr.sendMsg('/lmk/prompt/audio', slot.asString, path.asString, weight.asFloat) }
	weight { |slot, weight| addr.sendMsg('/lmk/weight', slot.asString, weight.asFloat) }
	clear { |slot| addr.sendMsg('/lmk/clear', slot.asString) }
	reset { addr.sendMsg('/lmk/reset') }
	blend { |... textWeightPairs|
		addr.sendMsg('/lmk/blend', *textWeightPairs.collect { |x, i| if(i.even) { x.asString } { x.asFloat } })
	}
	morph { |slot, text, beats = 4, curve = \linear, steps = 0|
		addr.sendMsg('/lmk/morph', slot.asString, text.asString, beats.asFloat, curve.asString, steps.asInteger)
	}

	// tempo, sampling, notes
	tempo { |bpm, rampBeats = 0| addr.sendMsg('/lmk/bpm', bpm.asFloat, rampBeats.asFloat) }
	meter { |beatsPerBar| addr.sendMsg('/lmk/meter', beatsPerBar.asInteger) }
	temperature { |value| addr.sendMsg('/lmk/temperature', value.asFloat) }
	topK { |value| addr.sendMsg('/lmk/top_k', value.asInteger) }
	guidance { |value| addr.sendMsg('/lmk/guidance', value.asFloat) }
	seed { |value| addr.sendMsg('/lmk/seed', value.asInteger) }
	noteOn { |note| addr.sendMsg('/lmk/note/on', note.asInteger) }
	noteOff { |note| addr.sendMsg('/lmk/note/off', note.asInteger) }
	notesOff { addr.sendMsg('/lmk/notes/off') }

	// transport
	play { addr.sendMsg('/lmk/play') }
	stop { addr.sendMsg('/lmk/stop') }

	// The model's audio in scsynth (a server on this machine, at the engine's rate), by files and a ring
	// buffer of `seconds`: afterwards LMK.ar plays it in any SynthDef. action.value(this) once it flows.
	// scsynth plays each sample `delay` seconds after the engine hears it (slack, as Server.latency).
	audio { |target, seconds = 8, action, delay = 0.05|
		var rate = target.sampleRate ? 48000;
		server = target;
		fork {
			this.class.synthDefs.do { |def| def.send(server) };
			ring = Buffer.alloc(server, (seconds * rate).asInteger, 2);
			phaseBus = Bus.audio(server, 1);
			phaseNode = server.nextNodeID;
			server.sync;
			current = this;
			this.prWhenDone('/lmk/sc/audio', action);
			addr.sendMsg('/lmk/sc/audio', server.addr.port, ring.bufnum, phaseBus.index, phaseNode, server.addr.ip,
				delay.asFloat);
		};
	}

	// Performer's audio into the model: what is written to `bus` (2 channels) steers the model without
	// ever being played back (needs audio first). action.value(this) once the engine listens.
	inject { |bus, action|
		if(ring.isNil) { Error("LMK.inject: call audio(server) first: injection records at its ring's phase").throw };
		fork {
			injectRing = Buffer.alloc(server, ring.numFrames, 2);
			server.sync;
			injectSynth = Synth.tail(RootNode(server), \lmkInject,
				[\in, bus, \buf, injectRing.bufnum, \phaseBus, phaseBus.index]);
			server.sync;
			this.prWhenDone('/lmk/sc/inject', action);
			addr.sendMsg('/lmk/sc/inject', injectRing.bufnum);
		};
	}
	stopInject {
		var synth = injectSynth, buffer = injectRing;
		addr.sendMsg('/lmk/sc/inject/stop');
		injectSynth = injectRing = nil;
		SystemClock.sched(0.5, { synth !? _.free; buffer !? _.free; nil });  // after the engine's last read
	}

	// Injection controls: mode \free or \looper; gains, gap (seconds) and loop length (beats) as numbers.
	injectMode { |mode| addr.sendMsg('/lmk/inject/mode', mode.asString) }
	injectGain { |value, rampBeats = 0| addr.sendMsg('/lmk/inject/gain', value.asFloat, rampBeats.asFloat) }
	feedbackGain { |value, rampBeats = 0| addr.sendMsg('/lmk/inject/feedback', value.asFloat, rampBeats.asFloat) }
	inputGap { |seconds, rampBeats = 0| addr.sendMsg('/lmk/inject/gap', seconds.asFloat, rampBeats.asFloat) }
	loopBeats { |beats, rampBeats = 0| addr.sendMsg('/lmk/inject/loop_beats', beats.asFloat, rampBeats.asFloat) }
	injectFile { |path, loop = 1| addr.sendMsg('/lmk/inject/file', path.asString, loop.asInteger) }
	injectStop { addr.sendMsg('/lmk/inject/stop') }

	prWhenDone { |address, action|
		OSCFunc({ action.value(this) }, '/lmk/done', addr, argTemplate: [address]).oneShot;
	}

	// Any of the above, `delta` seconds from now, landing on the exact sample heard then:
	//   l.at(0.5, '/lmk/prompt', "main", "dub techno", 1.0)
	at { |delta ... message| addr.sendBundle(delta, message) }

	// Queries: the reply's arguments go to func. what: \state, \slots, \clock or \figures.
	query { |what, func|
		OSCFunc({ |msg| func.value(msg.drop(1)) }, ("/lmk/" ++ what).asSymbol, addr).oneShot;
		addr.sendMsg(("/lmk/query/" ++ what).asSymbol);
	}

	// Notifications sent to this sclang, on topics: \beat (for a TempoClock to follow), \bar, \error, \message,
	// \link, \block, \levels, \latency or \all; without topics: beat, error, message and link.
	subscribe { |... topics| addr.sendMsg('/lmk/subscribe', NetAddr.langPort, *topics.collect(_.asString)) }
	unsubscribe { |... topics| addr.sendMsg('/lmk/unsubscribe', NetAddr.langPort, *topics.collect(_.asString)) }
	onBeat { |func| beatFuncs.add(func) }
	onError { |func| errorFuncs.add(func) }
	onBar { |func| notifyFuncs[\bar].add(func) }
	onBlock { |func| notifyFuncs[\block].add(func) }
	onLevels { |func| notifyFuncs[\levels].add(func) }
	onLatency { |func| notifyFuncs[\latency].add(func) }

	free {
		var buffers = [ring, injectRing], bus = phaseBus, synth = injectSynth;
		this.unsubscribe;
		oscFuncs.do(_.free);
		if(ring.notNil) {
			addr.sendMsg('/lmk/sc/audio/stop');  // the engine stops writing and frees the phase synth
			SystemClock.sched(0.5, { synth !? _.free; buffers.do { |b| b !? _.free }; bus.free; nil });
			ring = injectRing = injectSynth = phaseBus = nil;
		};
		if(current === this) { current = nil };
	}
}
