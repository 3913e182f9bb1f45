// livemusic-kernel from SuperCollider: steer a live music model over OSC.
// Start the engine with `lmk serve` (it listens on 127.0.0.1:57130), then
//   l = LMK.new; l.prompt(\main, "minimal techno"); l.onBeat({ |beat, bar| ... }); l.subscribe;
// Every message the engine cannot carry out comes back as /lmk/error, shown here as a warning.

LMK {
	var <addr, <beat, <bar, <beatFuncs, <errorFuncs, oscFuncs;

	*new { |host = "127.0.0.1", port = 57130|
		^super.new.init(host, port)
	}

	// The model's audio inside any SynthDef, by the JACK route: start the engine with
	//   lmk serve --sink soundcard --device SuperCollider
	// and its output feeds scsynth's first two inputs.
	*ar { |firstInput = 0| ^SoundIn.ar([firstInput, firstInput + 1]) }

	init { |host, port|
		addr = NetAddr(host, port);
		beatFuncs = List.new;
		errorFuncs = List.new;
		oscFuncs = [
			OSCFunc({ |msg|
				beat = msg[1]; bar = msg[2];
				beatFuncs.do { |func| func.value(beat, bar) };
			}, '/lmk/beat', addr),
			OSCFunc({ |msg|
				"LMK: % failed: %".format(msg[1], msg[2]).warn;
				errorFuncs.do { |func| func.value(msg[1], msg[2]) };
			}, '/lmk/error', addr)
		];
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

	// Any of the above, `delta` seconds from now, landing on the exact sample heard then:
	//   l.at(0.5, '/lmk/prompt', "main", "dub techno", 1.0)
	at { |delta ... message| addr.sendBundle(delta, message) }

	// Queries: the reply's arguments go to func. what: \state, \slots, \clock or \figures.
	query { |what, func|
		OSCFunc({ |msg| func.value(msg.drop(1)) }, ("/lmk/" ++ what).asSymbol, addr).oneShot;
		addr.sendMsg(("/lmk/query/" ++ what).asSymbol);
	}

	// Notifications: beats (for a TempoClock to follow) and errors, sent to this sclang.
	subscribe { addr.sendMsg('/lmk/subscribe', NetAddr.langPort) }
	unsubscribe { addr.sendMsg('/lmk/unsubscribe', NetAddr.langPort) }
	onBeat { |func| beatFuncs.add(func) }
	onError { |func| errorFuncs.add(func) }

	free {
		this.unsubscribe;
		oscFuncs.do(_.free);
	}
}
