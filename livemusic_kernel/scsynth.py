"""scsynth as the engine's speaker and as a performer: the file-and-buffer route of the SuperCollider kit.

Out: every block the engine releases is written to a small float WAV file and
scsynth is told to read it (``/b_read``) into a ring buffer at position
``sample mod frames``. A phase synth (the kit's ``lmkPhase``), at the head of
scsynth's root group, writes the ring position being heard to an audio bus,
and ``LMK.ar`` reads the ring there. We start that synth with a bundle stamped
with the time the engine's sample ``s`` is heard, at position ``s mod frames``:
from then on scsynth plays the engine's sample when the engine says it is heard,
so beats in scsynth are the engine's beats. No JACK connection, no sound card
shared between the two: files on this machine and OSC, which is all scsynth
needs on any system. (``LMK.jackAr`` is the JACK route, where JACK runs.)

In: the kit's ``lmkInject`` synth, at the tail of the root group, records a
bus into a second ring of the same length at the same phase, so ring position
``p`` holds what was played while sample ``p`` of the model sounded. We ask
scsynth to write what has been recorded to files (``/b_write``) a few times a
second and push it into the engine's injection stamped with exactly that
sample (:class:`PushSource`, ``push(audio, sample=s)``): no round-trip guess,
the performer is aligned with what they heard.

A re-anchoring (a gap in the engine's audio, after stop and start) restarts the
phase synth at the new time. Clocks that drift apart (a sound card that scsynth
drives, against the engine's own clock) are not followed: the rings hold
``frames`` samples, so that is how far they may drift before audio is stale.
"""

from __future__ import annotations

import queue
import shutil
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from .errors import InjectionError, SinkError
from .sources import PushSource

if TYPE_CHECKING:
    from .engine import Engine
    from .injection import InjectionHandle

__all__ = ["ScsynthRoute", "PHASE_SYNTH", "INJECT_SYNTH"]

#: The kit's SynthDefs (osc/supercollider/LiveMusicKernel/classes/LMK.sc) the route starts by name.
PHASE_SYNTH = "lmkPhase"
INJECT_SYNTH = "lmkInject"
_FILES = 64            # block files in rotation: one is rewritten only after scsynth has read it
_ANCHOR_AHEAD = 0.08   # seconds between anchoring the phase synth and the time it names
_INJECT_EVERY = 0.04   # seconds between asking scsynth for what the bus recorded
_INJECT_BEHIND = 0.06  # what scsynth recorded this long ago is certainly written


def _message(address: str, *args) -> OscMessageBuilder:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build()


class ScsynthRoute:
    """The engine's audio into a ring buffer of an scsynth on this machine, and a bus of it back.

    ``buffer`` is a stereo buffer scsynth holds (its length is the ring's),
    ``phase_bus`` the audio bus the phase synth writes, ``node`` the node ID to
    give the phase synth. scsynth plays each sample ``delay`` seconds after the
    engine hears it: slack for blocks that reach scsynth late on a loaded
    machine (SuperCollider's own ``Server.latency`` is the same idea). :meth:`start`
    checks the buffer with scsynth and raises :class:`SinkError` naming what to fix.
    """

    def __init__(self, engine: Engine, *, buffer: int, phase_bus: int, node: int, port: int = 57110,
                 host: str = "127.0.0.1", delay: float = 0.05, log: Callable[[str], None] | None = None,
                 timeout: float = 2.0):
        if not 0 <= delay <= 2:
            raise ValueError(f"delay is in seconds, from 0 to 2, got {delay}")
        self.engine = engine
        self.delay = float(delay)
        self.address = (host, int(port))
        self.buffer, self.phase_bus, self.node = int(buffer), int(phase_bus), int(node)
        self.timeout = timeout
        self._log = log or (lambda line: None)
        self.frames = 0
        #: Frames written into scsynth's ring, files scsynth failed to read, re-anchorings of the phase.
        self.written = self.failures = self.anchors = 0
        #: The least time, in seconds, between telling scsynth to read a block and its first sample being
        #: heard (below scsynth's hardware buffer, the block came too late and the ring played old audio).
        self.least_spare = float("inf")
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.connect(self.address)  # replies only from scsynth; a closed port is reported at once
        self._socket.settimeout(0.05)
        self._folder = Path(tempfile.mkdtemp(prefix="lmk-scsynth-"))
        self._blocks: queue.SimpleQueue = queue.SimpleQueue()
        self._replies: queue.SimpleQueue = queue.SimpleQueue()  # replies the setup waits for
        self._unread: dict[int, threading.Event] = {}           # block files scsynth has not read yet
        self._reads: list[int] = []                             # their order: scsynth answers in order
        self._lock = threading.Lock()
        self._next_file = 0
        self._expected: int | None = None                        # the sample after the last one written
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = None
        self.injection: _Injection | None = None

    # -- setting up -------------------------------------------------------------------------
    def start(self) -> ScsynthRoute:
        engine = self.engine
        frames, channels, rate = self._buffer_info(self.buffer)
        if frames == 0:
            raise SinkError(f"scsynth has no buffer {self.buffer}: allocate it first (LMK.audio does)")
        if channels != engine.channels or round(rate) != engine.sample_rate:
            raise SinkError(f"scsynth's buffer {self.buffer} holds {channels} channels at {rate:g} Hz; the engine "
                            f"plays {engine.channels} at {engine.sample_rate} Hz: boot scsynth at "
                            f"{engine.sample_rate} Hz (ServerOptions.sampleRate) with a {engine.channels}-channel "
                            f"buffer")
        if frames < engine.sample_rate:
            raise SinkError(f"scsynth's buffer {self.buffer} holds {frames} frames; the ring needs at least a "
                            f"second ({engine.sample_rate} frames) so that blocks arrive before they are heard")
        self.frames = frames
        for target, name in ((self._receive, "lmk-scsynth-replies"), (self._write, "lmk-scsynth-blocks")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._listener = engine.listen(self._on_block)
        return self

    def _buffer_info(self, buffer: int) -> tuple[int, int, float]:
        """(frames, channels, sample rate) of one of scsynth's buffers, asked before the threads run."""
        self._send(_message("/b_query", buffer))
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # nothing listens on that port (the system says so at once)
                break
            for timed in _parse(data):
                if timed.address == "/b_info" and timed.params[0] == buffer:
                    return int(timed.params[1]), int(timed.params[2]), float(timed.params[3])
        self.close()
        raise SinkError(f"no scsynth answered at {self.address[0]}:{self.address[1]}: boot it first, and give "
                        f"its port (LMK.audio sends s.addr.port)")

    def inject(self, buffer: int) -> InjectionHandle:
        """Push what scsynth's ``lmkInject`` synth records into ``buffer`` into the engine's injection."""
        if self.frames == 0:
            raise InjectionError("the scsynth route is not running: start() it first (LMK.audio)")
        if self.injection is not None:
            self.injection.stop()
        frames, channels, _ = self._ask_info(buffer)
        if frames != self.frames or channels != self.engine.channels:
            raise InjectionError(f"scsynth's buffer {buffer} holds {frames} frames of {channels} channels; injection "
                                 f"records at the ring's phase, so it needs {self.frames} frames of "
                                 f"{self.engine.channels} channels, like buffer {self.buffer}")
        self.injection = _Injection(self, buffer)
        return self.injection.handle

    def _ask_info(self, buffer: int) -> tuple[int, int, float]:
        """(frames, channels, sample rate) of a buffer, asked while the reply thread runs."""
        self._send(_message("/b_query", buffer))
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            try:
                address, params = self._replies.get(timeout=0.05)
            except queue.Empty:
                continue
            if address == "/b_info" and params[0] == buffer:
                return int(params[1]), int(params[2]), float(params[3])
        raise InjectionError(f"scsynth at {self.address[0]}:{self.address[1]} did not describe buffer {buffer}")

    # -- the engine's audio out -----------------------------------------------------------------
    def _on_block(self, sample: int, block: np.ndarray) -> None:
        """On the generation worker: a copy into a queue, nothing more."""
        self._blocks.put((sample, block.copy()))

    def _write(self) -> None:
        while not self._stop.is_set():
            try:
                sample, block = self._blocks.get(timeout=0.02)
            except queue.Empty:
                block = None
            try:
                if block is not None:
                    if sample != self._expected:
                        self._anchor(sample)
                    self._write_block(sample, block)
                    self._expected = sample + len(block)
                if self.injection is not None:
                    self.injection.poll()
            except Exception:  # this thread keeps the route alive: the next block may well go through
                self._log("scsynth route:\n" + traceback.format_exc())

    def _anchor(self, sample: int) -> None:
        """(Re)start the phase synth so that ring position ``sample mod frames`` sounds when ``sample`` is heard."""
        engine = self.engine
        now = time.monotonic()
        heard = engine.heard_time(sample)
        if heard is None:
            return
        heard += self.delay  # in scsynth
        soonest = engine.sample_heard_at(now + _ANCHOR_AHEAD - self.delay)
        if soonest is not None and soonest > sample:
            sample, heard = soonest, now + _ANCHOR_AHEAD
        bundle = OscBundleBuilder(time.time() + (heard - now))
        if self.anchors:
            bundle.add_content(_message("/n_free", self.node))
        bundle.add_content(_message("/s_new", PHASE_SYNTH, self.node, 0, 0, "bus", self.phase_bus,
                                    "frames", self.frames, "start", sample % self.frames))
        self._send(bundle.build())
        self.anchors += 1

    def _write_block(self, sample: int, block: np.ndarray) -> None:
        heard = self.engine.heard_time(sample)
        if heard is not None:
            self.least_spare = min(self.least_spare, heard + self.delay - time.monotonic())
        position, at = sample % self.frames, 0
        while at < len(block):  # a block across the ring's end goes in two pieces
            piece = block[at:at + self.frames - position]
            path = self._file_for_read()
            soundfile.write(path, piece, self.engine.sample_rate, subtype="FLOAT")
            self._send(_message("/b_read", self.buffer, str(path), 0, len(piece), position, 0))
            self.written += len(piece)
            at += len(piece)
            position = 0

    def _file_for_read(self) -> Path:
        """The next block file, once scsynth has read what it held before."""
        number = self._next_file
        self._next_file = (number + 1) % _FILES
        with self._lock:
            pending = self._unread.get(number)
        if pending is not None and not pending.wait(self.timeout):
            self._log(f"scsynth did not read block file {number} within {self.timeout:g} s; rewriting it")
        with self._lock:
            self._unread[number] = threading.Event()
            self._reads.append(number)
        return self._folder / f"block{number}.wav"

    # -- replies ------------------------------------------------------------------------------
    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except (TimeoutError, OSError):
                continue
            try:
                for timed in _parse(data):
                    self._reply(timed.address, list(timed.params))
            except Exception:
                self._log("scsynth route, reading a reply:\n" + traceback.format_exc())

    def _reply(self, address: str, params: list) -> None:
        command = params[0] if params else None
        if address in ("/done", "/fail") and command == "/b_read":
            with self._lock:
                number = self._reads.pop(0) if self._reads else None
                done = self._unread.pop(number, None)
            if done is not None:
                done.set()
            if address == "/fail":
                self.failures += 1
                self._log(f"scsynth could not read a block: {params[1:]}")
        elif command == "/b_write" and self.injection is not None:
            self.injection.written(address == "/done", params[1:])
        else:
            self._replies.put((address, params))

    def _send(self, packet) -> None:
        try:
            self._socket.send(packet.dgram)
        except OSError as error:
            self._log(f"cannot reach scsynth at {self.address[0]}:{self.address[1]}: {error.strerror}")

    # -- ending ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop writing and injecting, free the phase synth (idempotent)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None
        if self.injection is not None:
            self.injection.stop()
            self.injection = None
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._threads = []
        if self.anchors:
            self._send(_message("/n_free", self.node))
            self.anchors = 0
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def describe(self) -> str:
        return (f"scsynth at {self.address[0]}:{self.address[1]}, buffer {self.buffer} "
                f"({self.frames / self.engine.sample_rate:.1f} s ring)")


class _Injection:
    """What scsynth records into an injection ring, pushed into the engine stamped with the sample heard."""

    def __init__(self, route: ScsynthRoute, buffer: int):
        self.route, self.buffer = route, buffer
        engine = route.engine
        self.source = PushSource("scsynth", channels=engine.channels)
        self.handle = engine.inject(self.source)
        heard = engine.sample_heard_at(time.monotonic())
        self._asked = heard if heard is not None else engine.played  # recorded from here on is asked for
        self._pending: list[tuple[int, Path]] = []                    # written by scsynth in this order
        self._next_poll = 0.0
        self._number = 0
        self._lock = threading.Lock()
        #: Frames pushed to the engine, and /b_write requests scsynth refused.
        self.pushed = self.failures = 0

    def poll(self) -> None:
        """On the route's thread: ask scsynth to write what it recorded since the last time."""
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + _INJECT_EVERY
        route = self.route
        ready = route.engine.sample_heard_at(now - route.delay - _INJECT_BEHIND)  # played by scsynth by then
        if ready is None or ready <= self._asked:
            return
        start = max(self._asked, ready - route.frames // 2)  # after a long stall only the newest half is sure
        while start < ready:
            position = start % route.frames
            frames = min(ready - start, route.frames - position)
            path = route._folder / f"inject{self._number % _FILES}.wav"
            self._number += 1
            with self._lock:
                self._pending.append((start, path))
            route._send(_message("/b_write", self.buffer, str(path), "wav", "float", frames, position, 0))
            start += frames
        self._asked = ready

    def written(self, done: bool, params: list) -> None:
        """On the reply thread: scsynth wrote (or failed to write) the oldest file asked for."""
        with self._lock:
            if not self._pending:
                return
            sample, path = self._pending.pop(0)
        if not done:
            self.failures += 1
            self.route._log(f"scsynth could not write the injection ring: {params}")
            return
        audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
        if len(audio) and self.source.push(audio, sample=sample):
            self.pushed += len(audio)

    def stop(self) -> None:
        self.handle.stop()


def _parse(data: bytes) -> list:
    """The messages of a packet from scsynth; nothing for one we cannot read."""
    try:
        return [timed.message for timed in OscPacket(data).messages]
    except Exception:
        return []
