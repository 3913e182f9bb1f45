"""The OSC server: the /lmk address space over UDP and TCP, for SuperCollider, TidalCycles and anything else.

The addresses, their arguments and their handlers come from one source of
truth, ``osc/address_space.json`` (the generated ``_osc_table.py`` and
``osc/REFERENCE.md``). Every message is checked against it before anything
happens; a message that fails for any reason (malformed packet, unknown
address, wrong arity, wrong type, absurd value, a file outside the allowed
folders) gets ``/lmk/error <address> <reason>`` back and a log line. Nothing
a sender does can stop the music: handlers only post changes to the engine.

Time: a bundle with a future timetag is not slept on. Its changes are posted
at the sample that will be heard at that time (through the sink's clock), so
they land like any scheduled change; a timetag already past lands at once.

Transports: UDP, and TCP on the same port number, with OSC 1.0 framing (a
4-byte size before each packet, as SuperCollider sends) or OSC 1.1's SLIP,
told apart by the first byte; replies go back on the same connection.

Safety: the server binds 127.0.0.1 by default. Listening on another interface
needs an allow-list of hosts (``allow=``); packets from other hosts are
dropped and logged. Audio-file prompts are read only from ``audio_folders``.
"""

from __future__ import annotations

import difflib
import math
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pythonosc.osc_packet import OscPacket

from ._osc_notify import TOPICS, Notifier, _finite
from ._osc_notify import encode as _message
from ._osc_spec import Address
from ._osc_table import ADDRESSES
from .errors import LmkError

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["OscServer", "DEFAULT_PORT", "TABLE"]

DEFAULT_PORT = 57130  # beside SuperCollider's 57110 (scsynth) and 57120 (sclang)
TABLE: dict[str, Address] = {entry.address: entry for entry in ADDRESSES}
_LOCAL = {"127.0.0.1", "localhost", "::1"}
_TIDAL_IGNORED = {"cps", "cycle", "delta", "_id_", "orbit", "s", "n"}


class _Refused(Exception):
    """A message that cannot be carried out; the reason goes back to the sender."""


_SLIP_END, _SLIP_ESC = b"\xc0", b"\xdb"
_MAX_FRAME = 1 << 20  # a TCP frame larger than this is refused: no OSC message needs a megabyte


class _TcpPeer(tuple):
    """A TCP sender: (host, port) as for UDP, plus its connection and its framing
    (OSC 1.0's length prefix, as SuperCollider sends, or OSC 1.1's SLIP)."""

    def __new__(cls, address: tuple[str, int], connection: socket.socket, slip: bool):
        peer = super().__new__(cls, address)
        peer.connection, peer.slip = connection, slip
        return peer

    def send(self, data: bytes) -> None:
        if self.slip:
            escaped = data.replace(_SLIP_ESC, b"\xdb\xdd").replace(_SLIP_END, b"\xdb\xdc")
            self.connection.sendall(_SLIP_END + escaped + _SLIP_END)
        else:
            self.connection.sendall(len(data).to_bytes(4, "big") + data)


class OscServer:
    """Serves the /lmk address space for one engine, on a background thread."""

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 allow: Iterable[str] = (), audio_folders: Iterable[str | Path] = (),
                 tcp: bool = True, log=None) -> None:
        self.engine = engine
        self.allow = set(allow) | _LOCAL
        if host not in _LOCAL and not set(allow):
            raise ValueError(f"listening on {host!r} reaches other machines: give allow=[...] the hosts "
                             f"that may send (or keep host='127.0.0.1')")
        self.audio_folders = tuple(Path(folder).expanduser().resolve() for folder in audio_folders)
        self._log = log or (lambda line: print(f"lmk osc: {line}", file=sys.stderr))
        self._socket, self._tcp = _listen(host, port, tcp)
        self._socket.settimeout(0.1)
        self.host, self.port = self._socket.getsockname()[:2]
        if self._tcp is not None:
            self._tcp.listen(16)
            self._tcp.settimeout(0.1)
        self.notifier = Notifier(engine, self._socket.sendto, family=self._socket.family, log=self._log)
        self.received = self.errors = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._left_link = False
        self.route = None  # the SuperCollider kit's file-and-buffer route, once asked for
        self._injected: list = []  # files injected over OSC, for /lmk/inject/stop

    # -- running ---------------------------------------------------------------------------
    def start(self) -> OscServer:
        loops = [(self._serve, "lmk-osc"), (self._notify, "lmk-osc-notify")]
        if self._tcp is not None:
            loops.append((self._accept, "lmk-osc-tcp"))
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self.notifier.close()
        self._close_route()
        self._socket.close()
        if self._tcp is not None:
            self._tcp.close()

    def __enter__(self) -> OscServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._socket.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            try:
                self.handle(data, sender[:2])
            except Exception:  # the receiving thread must never die
                self._log("internal error:\n" + traceback.format_exc())

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, address = self._tcp.accept()
            except (TimeoutError, OSError):
                continue
            if address[0] not in self.allow:
                self._log(f"refused a TCP connection from {address[0]}, which is not in the allow-list")
                connection.close()
                continue
            connection.settimeout(0.2)
            threading.Thread(target=self._read_stream, args=(connection, address[:2]), daemon=True,
                             name="lmk-osc-tcp-peer").start()

    def _read_stream(self, connection: socket.socket, address: tuple[str, int]) -> None:
        """Frames from one TCP connection until it closes (or sends something unframeable)."""
        buffer, peer = b"", None
        with connection:
            while not self._stop.is_set():
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                if peer is None:
                    peer = _TcpPeer(address, connection, slip=buffer[:1] == _SLIP_END)
                try:
                    frames, buffer = _slip_frames(buffer) if peer.slip else _length_frames(buffer)
                except _Refused as error:
                    self._error(peer, "", str(error))
                    return
                for frame in frames:
                    try:
                        self.handle(frame, peer)
                    except Exception:
                        self._log("internal error:\n" + traceback.format_exc())

    def _send(self, target: tuple[str, int], address: str, *args: Any) -> None:
        try:
            if isinstance(target, _TcpPeer):
                target.send(_message(address, *args))
            else:
                self._socket.sendto(_message(address, *args), target)
        except OSError as error:
            self._log(f"cannot reply to {target[0]}:{target[1]}: {error.strerror}")

    def _error(self, sender: tuple[str, int], address: str, reason: str) -> None:
        self.errors += 1
        self._log(f"{address or '(packet)'} from {sender[0]}:{sender[1]}: {reason}")
        self._send(sender, "/lmk/error", address, reason)
        self.notifier.publish("error", "/lmk/error", address, reason, skip=sender)

    @property
    def subscribers(self) -> dict[tuple[str, int], frozenset[str]]:
        """Who gets notifications: (host, port) and the topics each chose."""
        return self.notifier.subscribers

    # -- one packet ------------------------------------------------------------------------
    def handle(self, data: bytes, sender: tuple[str, int]) -> None:
        """Carry out one packet from ``sender``, replying to it."""
        self.received += 1
        if sender[0] not in self.allow:
            self._log(f"dropped a packet from {sender[0]}, which is not in the allow-list")
            return
        try:
            messages = OscPacket(data).messages
        except Exception as error:  # python-osc raises ParseError, and others on hostile input
            self._error(sender, "", f"malformed OSC packet ({error})")
            return
        for timed in messages:
            address = timed.message.address
            try:
                entry = TABLE.get(address)
                if entry is None:
                    near = difflib.get_close_matches(address, TABLE, n=3)
                    hint = f"; did you mean {', '.join(near)}?" if near else "; see osc/REFERENCE.md"
                    raise _Refused(f"unknown address{hint}")
                values = self._bind(entry, list(timed.message.params))
                when = self._sample_for(timed.time) if entry.timed else None
                getattr(self, f"_on_{entry.handler}")(values, when, sender)
            except (_Refused, ValueError, KeyError, TypeError, LmkError) as error:
                reason = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
                self._error(sender, address, str(reason))
            except Exception as error:
                self._log(f"{address}: internal error\n" + traceback.format_exc())
                self._error(sender, address, f"internal error: {type(error).__name__}: {error}")

    def _bind(self, entry: Address, params: list[Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for position, arg in enumerate(entry.args):
            if arg.kind == "*":
                values[arg.name] = params[position:]
                return values
            if position >= len(params):
                if not arg.optional:
                    usage = " ".join(a.name for a in entry.args)
                    raise _Refused(f"needs {arg.name} ({entry.address} {usage})")
                values[arg.name] = arg.default
                continue
            values[arg.name] = _convert(arg.name, arg.kind, params[position])
        if len(params) > len(entry.args):
            raise _Refused(f"takes at most {len(entry.args)} arguments, got {len(params)}")
        return values

    def _sample_for(self, stamp: float) -> int | None:
        """The sample heard at Unix time ``stamp``; None for now (or when the time is unknown)."""
        engine = self.engine
        ahead = stamp - time.time()
        if ahead <= 0.001 or not engine.running or ahead > 3600:
            return None
        sample = engine.sample_heard_at(time.monotonic() + ahead)
        return sample if sample is not None and sample > engine.horizon else None

    # -- handlers (one per handler name in the table) -----------------------------------------------
    def _on_play(self, values, when, sender):
        self.engine.start()
        link = _link_session(self.engine)
        if link is not None and self._left_link:  # starting joins Link: stay out if a sender left it
            link.enabled = False

    def _on_stop(self, values, when, sender):
        self.engine.stop()

    def _on_reset(self, values, when, sender):
        self.engine.clear_prompts(at_sample=when)

    def _on_prompt(self, values, when, sender):
        self.engine.set_prompt(values["slot"], values["text"], values["weight"], at_sample=when)

    def _on_prompt_audio(self, values, when, sender):
        path = self._allowed(values["path"])
        self.engine.set_prompt(values["slot"], str(path), values["weight"], at_sample=when)

    def _allowed(self, given: str) -> Path:
        """A path a sender gave, refused unless it lies in an allowed audio folder."""
        path = Path(given).expanduser().resolve()
        if not any(path.is_relative_to(folder) for folder in self.audio_folders):
            allowed = ", ".join(str(f) for f in self.audio_folders) or "none (lmk serve --audio-folder DIR)"
            raise _Refused(f"{path} is not in an allowed audio folder; allowed: {allowed}")
        return path

    def _on_weight(self, values, when, sender):
        self.engine.set_weight(values["slot"], values["weight"], at_sample=when)

    def _on_clear(self, values, when, sender):
        self.engine.clear_prompt(values["slot"], at_sample=when)

    def _on_blend(self, values, when, sender):
        pairs = [values["text"], values["weight"], *values["more"]]
        if len(pairs) % 2:
            raise _Refused("takes text/weight pairs: /lmk/blend techno 0.7 flute 0.3")
        prompts = [(str(pairs[i]), _convert("weight", "f", pairs[i + 1])) for i in range(0, len(pairs), 2)]
        for text, _ in prompts:
            self.engine.embed(text)  # a bad prompt refuses the whole blend before anything changes
        self.engine.clear_prompts(at_sample=when)
        for number, (text, weight) in enumerate(prompts, 1):
            self.engine.set_prompt(f"b{number}", text, weight, at_sample=when)

    def _on_morph(self, values, when, sender):
        steps = values["steps"] or None
        self.engine.morph({values["slot"]: values["text"]}, beats=values["beats"], curve=values["curve"],
                          steps=steps, at_sample=when)

    def _on_bpm(self, values, when, sender):
        ramp = values["ramp_beats"] or None
        if _link_session(self.engine) is not None:  # through the clock, as the Transport widget does: peers follow
            at_beat = None if when is None else self.engine.tempo.beat_at(when)
            self.engine.clock.set_tempo(values["bpm"], at_beat=at_beat, ramp_beats=ramp)
        else:
            self.engine.set_bpm(values["bpm"], ramp_beats=ramp, at_sample=when)

    def _on_meter(self, values, when, sender):
        self.engine.set_meter(values["beats_per_bar"], at_sample=when)

    def _on_link(self, values, when, sender):
        if values["enabled"] not in (0, 1):
            raise _Refused(f"enabled is 1 (join the Link session) or 0 (leave it), got {values['enabled']}")
        link = _link_session(self.engine)
        if link is None:
            raise _Refused("this engine keeps its own clock, not Ableton Link: start it with lmk serve --link "
                           "(pip install 'livemusic-kernel[link]')")
        link.enabled = bool(values["enabled"])
        self._left_link = not link.enabled

    def _on_temperature(self, values, when, sender):
        self.engine.set(temperature=values["value"], at_sample=when)

    def _on_top_k(self, values, when, sender):
        self.engine.set(top_k=values["value"], at_sample=when)

    def _on_guidance(self, values, when, sender):
        self.engine.set(guidance=values["value"], at_sample=when)

    def _on_seed(self, values, when, sender):
        self.engine.set(seed=values["value"], at_sample=when)

    def _on_inject_file(self, values, when, sender):
        path = self._allowed(values["path"])
        if not path.is_file():
            raise _Refused(f"no such file: {path}")
        if values["loop"] not in (0, 1):
            raise _Refused(f"loop is 1 (loop the file) or 0 (play it once), got {values['loop']}")
        self._injected.append(self.engine.inject(str(path), loop=bool(values["loop"]), at_sample=when))

    def _on_inject_stop(self, values, when, sender):
        injected, self._injected = self._injected, []
        for handle in injected:
            handle.stop(at_sample=when)

    def _on_inject_mode(self, values, when, sender):
        self.engine.set(inject_mode=values["mode"], at_sample=when)

    def _on_inject_gain(self, values, when, sender):
        self._control("inject_gain", values["value"], values["ramp_beats"], when)

    def _on_feedback_gain(self, values, when, sender):
        self._control("feedback_gain", values["value"], values["ramp_beats"], when)

    def _on_input_gap(self, values, when, sender):
        self._control("input_gap", values["seconds"], values["ramp_beats"], when)

    def _on_loop_beats(self, values, when, sender):
        self._control("loop_beats", values["beats"], values["ramp_beats"], when)

    def _control(self, name: str, value: float, ramp_beats: float, when: int | None) -> None:
        if ramp_beats:
            self.engine.ramp(name, value, beats=ramp_beats, at_sample=when)
        else:
            self.engine.set(at_sample=when, **{name: value})

    def _on_note_on(self, values, when, sender):
        self.engine.note_on(values["note"], at_sample=when)

    def _on_note_off(self, values, when, sender):
        self.engine.note_off(values["note"], at_sample=when)

    def _on_notes_off(self, values, when, sender):
        self.engine.notes_off(at_sample=when)

    def _on_query_state(self, values, when, sender):
        engine, controls = self.engine, self.engine.controls
        self._send(sender, "/lmk/state", "backend", engine.backend.name, "running", int(engine.running),
                   "bpm", engine.bpm, "beat", float(engine.beat), "bar", float(engine.clock.bar),
                   "sample_rate", engine.sample_rate, "temperature", float(controls.temperature),
                   "top_k", int(controls.top_k), "guidance", float(controls.guidance), "seed", int(controls.seed))

    def _on_query_slots(self, values, when, sender):
        args: list[Any] = []
        for slot in self.engine.slots.values():
            args += [slot.name, str(slot.prompt.text if slot.prompt and slot.prompt.kind == "text"
                                    else slot.prompt.path if slot.prompt else slot.style.label), slot.weight]
        self._send(sender, "/lmk/slots", *args)

    def _on_query_clock(self, values, when, sender):
        clock = self.engine.clock
        self._send(sender, "/lmk/clock", self.engine.bpm, float(clock.beat), float(clock.bar),
                   clock.beats_per_bar, float(clock.horizon))

    def _on_query_figures(self, values, when, sender):
        f = self.engine.figures
        self._send(sender, "/lmk/figures", "latency_p95_ms", _finite(f.latency_ms.p95), "underruns", f.underruns,
                   "realtime_factor", _finite(f.realtime_factor), "queue_ms", f.queue_ms, "errors", f.errors,
                   "events", f.events, "late_events", f.late_events, "played_s", f.played_s)

    def _on_query_inject(self, values, when, sender):
        controls, figures = self.engine.controls, self.engine._injector.figures()
        self._send(sender, "/lmk/inject", "mode", controls.inject_mode, "gain", float(controls.inject_gain),
                   "feedback", float(controls.feedback_gain), "gap", float(controls.input_gap),
                   "loop_beats", float(controls.loop_beats), "sources", len(figures["sources"]),
                   "received_s", float(figures["received_s"]), "delivered_s", float(figures["delivered_s"]),
                   "dropped_frames", int(figures["dropped_frames"]))

    def _on_query_link(self, values, when, sender):
        self._send(sender, "/lmk/link", *self._link_status())

    def _link_status(self) -> tuple[int, int, float, float]:
        """enabled, peers, tempo, quantum: the Link session as the engine sees it (zeros without Link)."""
        link = _link_session(self.engine)
        if link is None:
            return 0, 0, float(self.engine.bpm), 0.0
        clock = self.engine.clock
        peers = int(clock.peers) if link.enabled else 0  # Link counts departed peers for a while
        return int(link.enabled), peers, float(clock.session_tempo), float(clock.quantum)

    def _on_sc_audio(self, values, when, sender):
        from .scsynth import ScsynthRoute

        if values["host"] not in _LOCAL:
            raise _Refused("the file-and-buffer route needs scsynth on this machine (it reads the files the engine "
                           "writes); for scsynth elsewhere use JACK (LMK.jackAr)")
        self._close_route()
        self.route = ScsynthRoute(self.engine, buffer=values["buffer"], phase_bus=values["phase_bus"],
                                  node=values["node"], port=_port(values["port"]), host=values["host"],
                                  delay=values["delay"], log=self._log).start()
        self._send(sender, "/lmk/done", "/lmk/sc/audio")

    def _on_sc_audio_stop(self, values, when, sender):
        self._close_route()

    def _on_sc_inject(self, values, when, sender):
        if self.route is None:
            raise _Refused("no scsynth route to inject from: send /lmk/sc/audio first (LMK.audio)")
        self.route.inject(values["buffer"])
        self._send(sender, "/lmk/done", "/lmk/sc/inject")

    def _on_sc_inject_stop(self, values, when, sender):
        if self.route is not None and self.route.injection is not None:
            self.route.injection.stop()
            self.route.injection = None

    def _close_route(self) -> None:
        route, self.route = self.route, None
        if route is not None:
            route.close()

    def _on_subscribe(self, values, when, sender):
        self.notifier.subscribe(*_subscription(values))

    def _on_unsubscribe(self, values, when, sender):
        self.notifier.unsubscribe(*_subscription(values))

    def _on_tidal(self, values, when, sender):
        pairs = values["pairs"]
        if len(pairs) % 2:
            raise _Refused("a Tidal event is name/value pairs")
        event = {str(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}
        unknown = set(event) - _TIDAL_IGNORED - {"prompt", "slot", "weight", "morph", "bpm", "temperature",
                                                 "top_k", "guidance", "seed", "note"}
        if unknown:
            raise _Refused(f"unknown Tidal parameters: {', '.join(sorted(unknown))}")
        engine, slot = self.engine, str(event.get("slot", "main"))
        if "prompt" in event:
            weight = _convert("weight", "f", event.get("weight", 1.0))
            if "morph" in event:
                engine.morph({slot: (str(event["prompt"]), weight)}, beats=_convert("morph", "f", event["morph"]),
                             at_sample=when)
            else:
                engine.set_prompt(slot, str(event["prompt"]), weight, at_sample=when)
        elif "weight" in event:
            engine.set_weight(slot, _convert("weight", "f", event["weight"]), at_sample=when)
        if "bpm" in event:
            engine.set_bpm(_convert("bpm", "f", event["bpm"]), at_sample=when)
        if "note" in event:  # held for the event's duration, as a synth would hold it
            note = _convert("note", "i", event["note"])
            start = engine.horizon if when is None else when
            length = round(_convert("delta", "f", event.get("delta", 0.25)) * engine.sample_rate)
            engine.note_on(note, at_sample=start)
            engine.note_off(note, at_sample=start + max(length, 1))
        params = {name: event[name] for name in ("temperature", "top_k", "guidance", "seed") if name in event}
        if params:
            engine.set(at_sample=when, **params)

    # -- notifications ----------------------------------------------------------------------------
    def _notify(self) -> None:
        while not self._stop.wait(0.005):
            try:
                self.notifier.tick()
                if self.subscribers and _link_session(self.engine) is not None:
                    self.notifier.tick_link(self._link_status())
            except Exception:
                self._log("notification error:\n" + traceback.format_exc())


def _subscription(values: dict[str, Any]) -> tuple[str, int, list[str]]:
    """host, port and topics of /lmk/subscribe and /lmk/unsubscribe. The host may be left out before
    topics (/lmk/subscribe 57120 levels): no host is named like a topic."""
    host, topics = values["host"], values["topics"]
    if host in TOPICS or host == "all":
        host, topics = "127.0.0.1", [host, *topics]
    for topic in topics:
        if not isinstance(topic, str):
            raise _Refused(f"topics are names, got {type(topic).__name__} {topic!r}; choose from all, "
                           f"{', '.join(TOPICS)}")
    return host, _port(values["port"]), topics


def _link_session(engine: Engine):
    """The Ableton Link session of an engine on a LinkClock, else None. LinkClock has no public
    switch for joining and leaving, so this reaches its session (``enabled`` is Link's own)."""
    return getattr(engine.clock, "_link", None)


def _length_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Whole OSC 1.0 frames (a big-endian int32 size, then the packet) and what is left."""
    frames = []
    while len(buffer) >= 4:
        size = int.from_bytes(buffer[:4], "big", signed=True)
        if not 0 < size <= _MAX_FRAME:
            raise _Refused(f"bad TCP frame size {size}: OSC over TCP is a 4-byte big-endian size, then the packet "
                           f"(or SLIP framing); closing the connection")
        if len(buffer) < 4 + size:
            break
        frames.append(buffer[4:4 + size])
        buffer = buffer[4 + size:]
    return frames, buffer


def _slip_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Whole SLIP frames (OSC 1.1) and what is left."""
    *whole, rest = buffer.split(_SLIP_END)
    if len(rest) > _MAX_FRAME:
        raise _Refused("a SLIP frame longer than 1 MB; closing the connection")
    frames = [f.replace(b"\xdb\xdc", _SLIP_END).replace(b"\xdb\xdd", _SLIP_ESC) for f in whole if f]
    return frames, rest


def _convert(name: str, kind: str, value: Any) -> Any:
    if kind == "s":
        if not isinstance(value, str):
            raise _Refused(f"{name} must be a string, got {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Refused(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise _Refused(f"{name} must be finite, got {value}")
    if kind == "i":
        if value != int(value):
            raise _Refused(f"{name} must be a whole number, got {value}")
        return int(value)
    return float(value)


#: How many free UDP ports ``port=0`` tries before giving up on finding one free for TCP too.
_ANY_PORT_TRIES = 20


def _open_udp(host: str, port: int) -> socket.socket:
    """A UDP socket bound to ``host:port`` (0: a free port the system picks)."""
    udp = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        udp.bind((host, port))
    except OSError as error:
        udp.close()
        raise LmkError(f"cannot listen for OSC on {host}:{port} ({error.strerror}); "
                       f"choose another port with --port") from None
    return udp


def _listen(host: str, port: int, tcp: bool) -> tuple[socket.socket, socket.socket | None]:
    """The UDP socket and, with ``tcp``, a TCP socket on the same port number. For ``port=0``
    the system picks a port free for UDP, which another program may hold for TCP (a client's
    ephemeral end of a connection): then another is tried, as asking for any port means."""
    tries = _ANY_PORT_TRIES if port == 0 else 1
    while True:
        udp = _open_udp(host, port)
        if not tcp:
            return udp, None
        chosen = udp.getsockname()[1]
        stream = socket.socket(udp.family, socket.SOCK_STREAM)
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            stream.bind((host, chosen))
            return udp, stream
        except OSError as error:
            udp.close()
            stream.close()
            tries -= 1
            if tries == 0:
                raise LmkError(f"cannot listen for OSC over TCP on {host}:{chosen} ({error.strerror}); "
                               f"choose another port with --port") from None


def _port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise _Refused(f"port must be between 1 and 65535, got {port}")
    return port

