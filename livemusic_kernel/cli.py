"""The ``lmk`` command: play, render, embed, devices, latency, bench, eval."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._version import __version__
from .errors import LmkError, MissingExtraError, StyleError
from .models import DEFAULT_BACKEND, available_backends, get_backend

__all__ = ["main", "build_parser", "parse_prompt"]


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class UsageError(Exception):
    """A bad value found after parsing; reported like an argparse error."""


def parse_prompt(text: str) -> tuple[str, float]:
    """``"minimal techno:0.7"`` -> ``("minimal techno", 0.7)``; the weight is optional."""
    body, sep, weight = text.rpartition(":")
    if sep and body.strip():
        try:
            return body.strip(), float(weight)
        except ValueError:
            pass
    return text.strip(), 1.0


def _engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and controls")
    group.add_argument("-p", "--prompt", action="append", default=[], metavar="TEXT[:WEIGHT]",
                       help="a text prompt or an audio file, with an optional weight; repeat to blend "
                            "(slots are named p1, p2, ...)")
    group.add_argument("-b", "--backend", default=DEFAULT_BACKEND, choices=available_backends(),
                       help=f"the model (default: {DEFAULT_BACKEND})")
    group.add_argument("--bpm", type=float, default=None,
                       help="tempo in beats per minute (default: the prompts' own tempo for models that know "
                            "one, such as builtin's 'techno' at 130; else 120)")
    group.add_argument("--meter", type=int, default=4, metavar="BEATS", help="beats per bar (default: 4)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    group.add_argument("--temperature", type=float, default=1.1, help="sampling temperature (default: 1.1)")
    group.add_argument("--top-k", type=int, default=40, help="top-k sampling (default: 40)")
    group.add_argument("--guidance", type=float, default=4.0, help="guidance weight (default: 4.0)")
    group.add_argument("--script", type=Path, metavar="FILE.py",
                       help="a session script: Python run with `engine` in scope, using the live API")
    group.add_argument("--log", type=Path, metavar="FILE.jsonl",
                       help="write a session log of every control change (for --replay)")


def _inject_options(parser: argparse.ArgumentParser, live: bool) -> None:
    group = parser.add_argument_group("audio injection (the input steers the model; it is never played)")
    group.add_argument("--inject", metavar="SOURCE",
                       help="an audio file mixed into the model's context" +
                            (", or 'mic', or 'device:NAME' (see 'lmk devices')" if live else ""))
    group.add_argument("--inject-mode", default="free", choices=("free", "looper"),
                       help="free: the input at its true time; looper: the previous loop of --loop-beats, "
                            "filling the whole context (default: free)")
    group.add_argument("--inject-gain", type=float, default=1.0, metavar="G",
                       help="the input's level in the context (default: 1)")
    group.add_argument("--loop-beats", type=float, default=8.0, metavar="N",
                       help="looper mode's loop length in beats (default: 8)")
    group.add_argument("--inject-once", action="store_true", help="play the file once (default: loop it)")
    if live:
        group.add_argument("--input-latency", type=float, metavar="SECONDS",
                           help="the audio interface's round trip for live input (default: what 'lmk latency' "
                                "stored, else 0)")


def _start_injection(engine, args) -> None:
    """Inject what --inject names, with its controls, from the engine's "now"."""
    if not args.inject:
        return
    engine.set(inject_mode=args.inject_mode, inject_gain=args.inject_gain, loop_beats=args.loop_beats)
    live = args.inject == "mic" or args.inject.startswith("device:")
    if not live and not Path(args.inject).is_file():
        raise UsageError(f"--inject: no such file: {args.inject}")
    handle = engine.inject(args.inject, loop=not args.inject_once, latency=getattr(args, "input_latency", None))
    print(f"lmk: injecting {handle.source.describe()} in {args.inject_mode} mode", file=sys.stderr, flush=True)


def _stream_options(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--sink", default="auto", choices=("auto", "soundcard", "null"),
                     help="auto: the sound card, or the null sink without one (default: auto)")
    out.add_argument("--device", help="sound card device index or name (see 'lmk devices')")
    out.add_argument("--latency", default="default", choices=("default", "low"),
                     help="default: ~120 ms control latency, robust; low: ~40 ms (default: default)")
    out.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    out.add_argument("--record", type=Path, metavar="FILE.wav",
                     help="record what plays to a WAV file (playable even after a crash)")
    out.add_argument("--status", type=float, default=1.0, metavar="SECONDS",
                     help="print the engine's figures this often; 0 for never (default: 1)")
    out.add_argument("--link", action="store_true",
                     help="play in an Ableton Link session, bars aligned (needs the 'link' extra)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lmk", description="livemusic-kernel: a live music model for live coders.")
    parser.add_argument("--version", action="version", version=f"lmk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    play = commands.add_parser("play", help="stream to the sound card (or the null sink without one)",
                               description="Stream the model live until Ctrl-C (or --seconds).")
    _engine_options(play)
    _stream_options(play)
    _inject_options(play, live=True)

    serve = commands.add_parser("serve", help="stream and serve the /lmk OSC address space (headless)",
                                description="Stream the model and listen for OSC (SuperCollider, TidalCycles, "
                                            "...) until Ctrl-C or SIGTERM. Addresses: osc/REFERENCE.md.")
    _engine_options(serve)
    _stream_options(serve)
    network = serve.add_argument_group("OSC")
    network.add_argument("--host", default="127.0.0.1",
                         help="interface to listen on (default: 127.0.0.1; others need --allow)")
    network.add_argument("--port", type=int, default=57130, help="UDP and TCP port (default: 57130)")
    network.add_argument("--allow", action="append", default=[], metavar="HOST",
                         help="a host that may send when listening beyond 127.0.0.1; repeat for more")
    network.add_argument("--audio-folder", action="append", default=[], type=Path, metavar="DIR",
                         help="a folder /lmk/prompt/audio may read from; repeat for more (default: none)")

    render = commands.add_parser("render", help="render offline to a WAV file, as fast as possible",
                                 description="Render offline: prompts, a session script, or a session log.")
    _engine_options(render)
    render.add_argument("-o", "--out", type=Path, required=True, metavar="FILE.wav", help="the WAV file to write")
    render.add_argument("-s", "--seconds", type=float,
                        help="length in seconds (default: 30, or the script's length, or the whole replay)")
    render.add_argument("--replay", type=Path, metavar="FILE.jsonl",
                        help="re-render a logged session bit for bit (ignores the model options)")
    render.add_argument("--subtype", default="float32", choices=("float32", "pcm16", "pcm24"),
                        help="sample format (default: float32)")
    _inject_options(render, live=False)

    embed = commands.add_parser("embed", help="print the style of a text or audio prompt",
                                description="Embed a prompt with a backend and print its style.")
    embed.add_argument("prompt", help="text, or the path of an audio file")
    embed.add_argument("-b", "--backend", default=DEFAULT_BACKEND, choices=available_backends())
    embed.add_argument("--json", action="store_true", help="print JSON instead of a table")

    commands.add_parser("devices", help="list the audio devices PortAudio sees",
                        description="List audio devices (index, name, host API, channels).")

    latency = commands.add_parser(
        "latency", help="measure and store the audio interface's round trip (for injected live input)",
        description="Play an exponential sine sweep through a duplex device and record it at the same time; "
                    "the sweep's place in the recording (cross-correlation, to a fraction of a sample) is the "
                    "round trip. Connect the output to the input first (a cable, or a microphone by the "
                    "speaker). The result is stored, and live injection uses it to align the input with what "
                    "the performer heard.")
    latency.add_argument("--device", help="the duplex device, index or name (default: the default device)")
    latency.add_argument("--seconds", type=float, default=1.0, help="the sweep's length (default: 1)")
    latency.add_argument("--runs", type=int, default=3, help="sweeps to play; the median counts (default: 3)")
    latency.add_argument("--rate", type=int, default=48000, help="sample rate in Hz (default: 48000)")
    latency.add_argument("--no-save", action="store_true", help="measure only; keep the stored value")
    latency.add_argument("--json", action="store_true", help="print JSON instead of a sentence")

    bench = commands.add_parser("bench", help="measure latency, underruns and render speed",
                                description="Measure control-to-audio latency and underruns with the "
                                            "null sink, for our presets and a 2 s chunked baseline, "
                                            "and offline render speed.")
    bench.add_argument("--seconds", type=float, default=15.0,
                       help="seconds per latency configuration; the render-speed renders are twice as long, "
                            "5 of them per model (default: 15)")
    bench.add_argument("-b", "--backend", default=DEFAULT_BACKEND, choices=available_backends())
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")

    evaluation = commands.add_parser(
        "eval", help="measure how good a model is: adherence, transitions, tempo, key, sound, variety, speed",
        description="Measure the builtin-model issue's figures for a backend (see README, 'Evaluating a model') "
                    "and print each with its threshold. Takes minutes (--quick: seconds). Exit status 0 "
                    "even when a figure misses: it is a measurement. Needs the 'eval' extra (librosa).")
    evaluation.add_argument("-b", "--backend", default=DEFAULT_BACKEND, choices=available_backends(),
                            help=f"the model (default: {DEFAULT_BACKEND})")
    evaluation.add_argument("--quick", action="store_true",
                            help="a few prompts and short renders of each figure, in seconds")
    evaluation.add_argument("--only", metavar="FIGURE[,FIGURE...]",
                            help="measure only these (default: all): adherence, transitions, tempo, key, "
                                 "sound, variety, speed")
    evaluation.add_argument("--seed", type=int, default=0, help="random seed of every render (default: 0)")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="print every case behind each figure")
    evaluation.add_argument("--json", action="store_true", help="print JSON (with every case) instead of a table")
    return parser


# -- commands ----------------------------------------------------------------

def _make_engine(args, **options):
    from .engine import Engine
    from .style import Prompt

    prompts = {f"p{index}": Prompt.of(*parse_prompt(spec)) for index, spec in enumerate(args.prompt, 1)}
    if not prompts and not args.script:
        prompts = {"p1": Prompt.of("minimal techno")}
    backend = get_backend(args.backend)
    bpm = args.bpm if args.bpm is not None else _preferred_bpm(backend, prompts)
    return Engine(backend, bpm=bpm, beats_per_bar=args.meter, seed=args.seed,
                  temperature=args.temperature, top_k=args.top_k, guidance=args.guidance,
                  prompts=prompts, log=args.log, **options)


def _preferred_bpm(backend, prompts: dict) -> float:
    """The tempo the prompts' blend is usually played at, for backends that know one; else 120."""
    from .style import blend

    if sum(p.weight for p in prompts.values()) <= 0:
        return 120.0
    style = blend([backend.embed(p) for p in prompts.values()], [p.weight for p in prompts.values()])
    return backend.preferred_bpm(style) or 120.0


def _progress_printer(label: str, rate: int = 48000) -> Callable[[int, int], None]:
    """Progress on stderr: a live line on a terminal, a line per 10% otherwise."""
    tty = sys.stderr.isatty()
    state = {"last": -1, "began": time.perf_counter()}

    def show(done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        step = percent if tty else percent // 10 * 10
        if step == state["last"]:
            return
        state["last"] = step
        speed = done / rate / max(time.perf_counter() - state["began"], 1e-9)
        line = f"{label}: {percent:3d}% ({done / rate:.1f} of {total / rate:.1f} s, {speed:.1f}x real time)"
        print(("\r" + line) if tty else line, end="" if tty and done < total else "\n",
              file=sys.stderr, flush=True)

    return show


def _cmd_render(args) -> int:
    from .replay import render_session
    from .session import run_script

    began = time.perf_counter()
    if args.replay:
        if args.script or args.prompt:
            raise UsageError("--replay re-renders a logged session; it takes no --prompt or --script")
        frames, rate = render_session(args.replay, args.out, subtype=args.subtype,
                                      progress=_progress_printer(f"replaying {args.replay.name}"))
    else:
        engine = _make_engine(args, sink=None, record=args.out, record_subtype=args.subtype)
        with engine:
            _start_injection(engine, args)
            if args.script:
                run_script(engine, args.script)
            seconds = args.seconds if args.seconds is not None else (
                engine.horizon / engine.sample_rate if args.script and engine.horizon else 30.0)
            frames = int(round(seconds * engine.sample_rate))
            rate = engine.sample_rate
            engine.render(frames=frames, keep=False,
                          progress=_progress_printer(f"rendering {args.out.name}", rate))
    wall = time.perf_counter() - began
    print(f"wrote {args.out}: {frames / rate:.2f} s of {rate} Hz stereo {args.subtype} "
          f"in {wall:.2f} s ({frames / rate / max(wall, 1e-9):.1f}x real time)", file=sys.stderr)
    return 0


def _cmd_play(args) -> int:
    return _stream(args)


def _cmd_serve(args) -> int:
    from .osc import OscServer

    def serve(engine):
        server = OscServer(engine, host=args.host, port=args.port, allow=args.allow,
                           audio_folders=args.audio_folder).start()
        folders = ", ".join(str(f) for f in args.audio_folder) or "none"
        print(f"lmk: listening for OSC on udp://{server.host}:{server.port} and tcp://{server.host}:{server.port} "
              f"(addresses: osc/REFERENCE.md; "
              f"audio prompts from: {folders})", file=sys.stderr, flush=True)
        return server

    return _stream(args, serve)


def _stream(args, serve=None) -> int:
    """Stream live until Ctrl-C, SIGTERM or --seconds; with ``serve``, also serve OSC."""
    from .session import run_script

    clock = {}
    if args.link:
        from .link import LinkClock

        clock = {"clock": LinkClock(quantum=args.meter)}
    engine = _make_engine(args, sink=args.sink, device=args.device, latency=args.latency, record=args.record,
                          **clock)
    done = threading.Event()

    def finish(signum, frame):
        done.set()

    previous = {sig: signal.signal(sig, finish) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = None
    try:
        engine.start()
        if getattr(args, "inject", None):
            _start_injection(engine, args)
        print(f"lmk: playing {engine.backend.name} at {engine.bpm:g} BPM to the {engine.sink.describe()}"
              + (f", recording to {args.record}" if args.record else "")
              + ("; Ctrl-C stops" if args.seconds is None else f" for {args.seconds:g} s"),
              file=sys.stderr, flush=True)
        server = serve(engine) if serve else None
        if args.script:
            threading.Thread(target=run_script, args=(engine, args.script), daemon=True).start()
        began = time.monotonic()
        next_status = began + args.status if args.status > 0 else float("inf")
        while not done.is_set():
            if args.seconds is not None and time.monotonic() - began >= args.seconds:
                break
            done.wait(0.1)
            if time.monotonic() >= next_status:
                next_status += args.status
                f = engine.figures
                print(f"lmk: beat {float(engine.beat):7.2f}  queue {f.queue_ms:5.1f} ms  "
                      f"latency p95 {f.latency_ms.p95:6.1f} ms  underruns {f.underruns}  "
                      f"RTF {f.realtime_factor:.3f}", file=sys.stderr)
    finally:
        if server is not None:
            server.close()
        engine.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"lmk: stopped after {engine.figures.played_s:.1f} s; {engine.figures.underruns} underruns"
          + (f"; recording finished: {args.record}" if args.record else ""), file=sys.stderr)
    return 0


def _cmd_embed(args) -> int:
    from .models import get_backend

    style = get_backend(args.backend).embed(args.prompt)
    if args.json:
        print(json.dumps(style.to_json()))
        return 0
    print(f"{style.label} in {style.space.name}")
    for name, value in style.strongest(min(len(style), 16)):
        print(f"  {name:<12} {value: .4f}")
    return 0


def _cmd_devices(args) -> int:
    from .sinks import list_devices

    devices = list_devices()
    if not devices:
        print("no audio devices: PortAudio sees no sound card ('lmk play' uses the null sink)")
    for d in devices:
        print(f"{d['index']:3d}  {d['name']:<40} {d['hostapi']:<12} in {d['inputs']:2d}  out {d['outputs']:2d}")
    return 0


def _cmd_latency(args) -> int:
    from .latency import measure_device, save_latency

    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    print(f"lmk: playing {args.runs} sweeps of {args.seconds:g} s through {device or 'the default device'} "
          f"and recording them ...", file=sys.stderr, flush=True)

    def progress(done: int, total: int) -> None:
        print(f"lmk: sweep {done} of {total} heard", file=sys.stderr, flush=True)

    measurement = measure_device(device, sample_rate=args.rate, seconds=args.seconds, runs=args.runs,
                                 progress=progress)
    stored = None if args.no_save else save_latency(measurement, device)
    if args.json:
        print(json.dumps({**measurement.to_json(), "stored": None if stored is None else str(stored)}))
    else:
        print(measurement)
        if stored is not None:
            print(f"stored in {stored}: live injection from this device is aligned by it")
    return 0


def _cmd_bench(args) -> int:
    from .bench import CONFIGS, LatencyResult, measure_latency, measure_render_speed

    results = []
    for config in CONFIGS:
        print(f"measuring '{config}' for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        results.append(measure_latency(config, args.seconds, args.backend))
    print("measuring render speed on one core ...", file=sys.stderr, flush=True)
    speed = measure_render_speed(2 * args.seconds, args.backend)
    click_speed = measure_render_speed(2 * args.seconds, "click")
    if args.json:
        print(json.dumps({"latency": {r.config: r.figures.to_dict() for r in results}, "render": speed,
                          "render_baseline": click_speed}))
        return 0
    print(f"control-to-audio latency, null sink, backend {args.backend}, {args.seconds:g} s each")
    print(LatencyResult.header())
    for result in results:
        print(result.row())
    ours, baseline = results[0].figures.latency_ms.p95, results[-1].figures.latency_ms.p95
    print(f"default p95 is {baseline / ours:.1f}x lower than the 2 s chunked baseline")
    core = f"core {speed['cpu']}" if speed["cpu"] is not None else "one process"
    print(f"offline render on {core}, {speed['repeats']} renders of {speed['audio_s']:g} s: {args.backend} "
          f"median {speed['times_real_time']:.0f}x real time ({speed['slowest_times']:.0f}x to "
          f"{speed['fastest_times']:.0f}x); baseline click {click_speed['times_real_time']:.0f}x")
    return 0


def _cmd_eval(args) -> int:
    from .evaluation import evaluate

    only = None if args.only is None else [name.strip() for name in args.only.split(",") if name.strip()]
    report = evaluate(args.backend, quick=args.quick, seed=args.seed, only=only)
    print(json.dumps(report.to_dict()) if args.json else report.table(verbose=args.verbose))
    return 0


def _check_inputs(args) -> None:
    """Usage errors found before any engine starts or any output file is created."""
    for option in ("script", "replay"):
        path = getattr(args, option, None)
        if path is not None and not path.is_file():
            raise UsageError(f"--{option}: no such file: {path}")
    inject = getattr(args, "inject", None)
    if inject is not None and not (inject == "mic" or inject.startswith("device:") or Path(inject).is_file()):
        raise UsageError(f"--inject: no such file: {inject} (give an audio file"
                         + (", 'mic' or 'device:NAME')" if hasattr(args, "input_latency") else ")"))
    seconds = getattr(args, "seconds", None)
    if seconds is not None and not seconds > 0:
        raise UsageError(f"--seconds must be > 0, got {seconds:g}")


COMMANDS = {"play": _cmd_play, "serve": _cmd_serve, "render": _cmd_render, "embed": _cmd_embed,
            "devices": _cmd_devices, "latency": _cmd_latency, "bench": _cmd_bench, "eval": _cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"lmk {args.command}"
    try:
        _check_inputs(args)
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    except LmkError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        # Bad prompts and missing extras are the user's input or setup; the rest failed while running.
        return 2 if isinstance(error, (StyleError, MissingExtraError)) else 1


if __name__ == "__main__":
    sys.exit(main())
