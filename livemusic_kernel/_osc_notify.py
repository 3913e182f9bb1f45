"""Subscriptions: who hears which notifications, and the thread that sends them.

A subscriber is a UDP address and a set of topics. What each topic sends:

=========  ==============================================  ===========================================
topic      message                                         when
=========  ==============================================  ===========================================
beat       ``/lmk/beat beat bar``                          on every beat heard
bar        ``/lmk/bar bar beats_per_bar``                  on every downbeat heard (with the meter, so
                                                           a client needs no /lmk/meter bookkeeping)
error      ``/lmk/error address reason``                   for every message that failed, anyone's
message    ``/lmk/message text``                           for every message the engine reports
link       ``/lmk/link enabled peers tempo quantum``       when the Link session changes
block      ``/lmk/block sample frames blocks gen_ms``      at most 10 a second: the audio generated
                                                           since the last one, coalesced
levels     ``/lmk/levels peak_db rms_db`` per channel      10 a second: the output heard since the last
latency    ``/lmk/latency p50_ms p95_ms underruns queue``  once a second while playing
=========  ==============================================  ===========================================

A plain ``/lmk/subscribe port`` gets the first topics the server ever had (beat, error, message, link),
so clients written before topics existed hear exactly what they used to.

Nothing here runs on the audio callback. Block and level figures come from an engine listener, which runs
on the generation worker: per block it takes each channel's peak and sum of squares (two reductions over
a block it already holds) and appends them to a bounded deque. Everything else (decibels, encoding,
sending) happens on the notification thread, which releases levels only once the sink has played the
audio they measure, so meters move with the sound rather than a lead ahead of it. The listener exists
only while someone subscribes to block or levels. A subscriber whose sends fail is logged once per streak
of failures and kept: nothing a subscriber does reaches the music.
"""

from __future__ import annotations

import collections
import math
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder

if TYPE_CHECKING:
    from .engine import Engine

TOPICS = ("beat", "bar", "error", "message", "link", "block", "levels", "latency")
#: What a subscription without topics gets: the topics there were before topics could be chosen.
DEFAULT_TOPICS = frozenset({"beat", "error", "message", "link"})
_AUDIO_TOPICS = frozenset({"block", "levels"})  # the ones that need an engine listener
BLOCK_EVERY = LEVELS_EVERY = 0.1  # seconds: meters look smooth at 10 a second, and no client floods
LATENCY_EVERY = 1.0
SILENCE_DB = -120.0  # what silence reads as (not -inf, which many OSC clients cannot print or compare)
_KEPT_BLOCKS = 256  # measured blocks waiting to be heard: seconds of audio, far more than any lead


def encode(address: str, *args: Any) -> bytes:
    """One OSC message as bytes."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def _db(amplitude: np.ndarray) -> list[float]:
    with np.errstate(divide="ignore"):
        return [max(float(x), SILENCE_DB) for x in 20 * np.log10(amplitude)]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -1.0


class Notifier:
    """The subscribers of one OSC server and the notifications they get.

    ``send(data, target)`` (a UDP socket's ``sendto``) puts one datagram on the wire and may raise
    ``OSError``; ``family`` is the server socket's address family, which subscribers' addresses share.
    """

    def __init__(self, engine: Engine, send: Callable[[bytes, tuple[str, int]], Any], *,
                 family: int = socket.AF_INET, log: Callable[[str], Any] = print) -> None:
        self.engine = engine
        self._send, self._family, self._log = send, family, log
        # Replaced whole on every change (never mutated), so the sending thread iterates a stable dict.
        self.subscribers: dict[tuple[str, int], frozenset[str]] = {}
        self._changing = threading.Lock()
        self._failing: set[tuple[str, int]] = set()
        self._listener = None
        self._heard: collections.deque = collections.deque(maxlen=_KEPT_BLOCKS)
        self._generated: tuple[int, int, int] | None = None  # first sample, end sample, blocks: the worker's
        self._reported: tuple[int, int] | None = None  # end sample, blocks: the last /lmk/block's
        self._last_beat: int | None = None
        self._seen_messages = engine.message_count
        self._last_link: tuple = ()
        now = time.monotonic()
        self._due = {"block": now, "levels": now, "latency": now + LATENCY_EVERY}

    # -- who hears what ---------------------------------------------------------------------
    def subscribe(self, host: str, port: int, topics: list[str]) -> None:
        """Send ``topics`` (the default ones if empty, every one for ``all``) to host:port, instead of
        what it got before."""
        chosen = self._topics(topics) or DEFAULT_TOPICS
        target = self._target(host, port)
        with self._changing:
            self.subscribers = {**self.subscribers, target: chosen}
            self._failing.discard(target)
            self._sync_listener()

    def unsubscribe(self, host: str, port: int, topics: list[str]) -> None:
        """Stop ``topics`` (every one if empty) to host:port."""
        dropped = self._topics(topics) or frozenset(TOPICS)
        target = self._target(host, port)
        with self._changing:
            kept = {t: chosen for t, chosen in self.subscribers.items() if t != target}
            left = self.subscribers.get(target, frozenset()) - dropped
            if left:
                kept[target] = left
            self.subscribers = kept
            self._sync_listener()

    @staticmethod
    def _topics(names: list[str]) -> frozenset[str]:
        unknown = [str(name) for name in names if name not in TOPICS and name != "all"]
        if unknown:
            raise ValueError(f"unknown topic {unknown[0]!r}; choose from all, {', '.join(TOPICS)}")
        return frozenset(TOPICS) if "all" in names else frozenset(names)

    def _target(self, host: str, port: int) -> tuple[str, int]:
        if host == "localhost":
            host = "::1" if self._family == socket.AF_INET6 else "127.0.0.1"
        try:  # numeric only: a name lookup could hold up the receiving thread for seconds
            info = socket.getaddrinfo(host, port, self._family, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)
        except socket.gaierror:
            kind = "IPv6" if self._family == socket.AF_INET6 else "IPv4"
            raise ValueError(f"host must be an {kind} address or localhost (names are not looked up), got "
                             f"{host!r}; topics go after the port or the host: all, {', '.join(TOPICS)}") from None
        return info[0][4][:2]

    def _sync_listener(self) -> None:
        wanted = any(chosen & _AUDIO_TOPICS for chosen in self.subscribers.values())
        if wanted and self._listener is None:
            self._heard.clear()
            self._generated = self._reported = None
            self._listener = self.engine.listen(self._measure)
        elif not wanted and self._listener is not None:
            self._listener.cancel()
            self._listener = None

    def close(self) -> None:
        with self._changing:
            self.subscribers = {}
            self._sync_listener()

    # -- the generation worker's part ---------------------------------------------------------
    def _measure(self, sample: int, block: np.ndarray) -> None:
        """Runs on the generation worker for every block released: two reductions and an append."""
        peak = np.maximum(block.max(axis=0), -block.min(axis=0))
        power = np.einsum("ij,ij->j", block, block, dtype=np.float64)
        self._heard.append((sample + len(block), len(block), peak, power))
        generated = self._generated
        self._generated = (sample if generated is None else generated[0], sample + len(block),
                           1 if generated is None else generated[2] + 1)

    # -- sending -------------------------------------------------------------------------------
    def publish(self, topic: str, address: str, *args: Any, skip: tuple | None = None) -> None:
        """Send one notification to every subscriber of ``topic`` (but ``skip``, who had it already)."""
        data = None
        for target, chosen in self.subscribers.items():
            if topic not in chosen or target == skip:
                continue
            data = data or encode(address, *args)
            try:
                self._send(data, target)
            except OSError as error:
                if target not in self._failing:
                    self._failing.add(target)
                    self._log(f"cannot notify {target[0]}:{target[1]} ({error.strerror or error}); "
                              f"still trying, quietly, until it works or it unsubscribes")
            else:
                self._failing.discard(target)

    def _wanted(self, topic: str) -> bool:
        return any(topic in chosen for chosen in self.subscribers.values())

    def tick(self) -> None:
        """Send whatever is due; the server's notification thread calls this every few milliseconds."""
        engine = self.engine
        new = engine.message_count - self._seen_messages
        self._seen_messages = engine.message_count  # counted even unheard: a new subscriber gets no backlog
        if not self.subscribers:
            return
        if engine.running:
            self._tick_beat(engine)
        for text in list(engine.messages)[-new:] if new > 0 else []:
            self.publish("message", "/lmk/message", text)
        now = time.monotonic()
        for topic, every in (("block", BLOCK_EVERY), ("levels", LEVELS_EVERY), ("latency", LATENCY_EVERY)):
            if now >= self._due[topic]:
                self._due[topic] = now + every
                getattr(self, f"_tick_{topic}")(engine)

    def _tick_beat(self, engine: Engine) -> None:
        beat = math.floor(engine.beat)
        previous, self._last_beat = self._last_beat, beat
        if beat == previous:
            return
        per_bar = engine.beats_per_bar
        bar = beat // per_bar
        # A downbeat, or a bar boundary crossed between two looks (a tempo jump): a late tick beats none.
        if beat % per_bar == 0 or (previous is not None and previous // per_bar != bar):
            self.publish("bar", "/lmk/bar", bar, per_bar)
        self.publish("beat", "/lmk/beat", beat, bar)

    def tick_link(self, status: tuple) -> None:
        """Tell subscribers when an app joined or left the Link session, or the engine did."""
        if status[:2] != self._last_link[:2]:
            self._last_link = status
            self.publish("link", "/lmk/link", *status)

    def _tick_block(self, engine: Engine) -> None:
        generated = self._generated
        if generated is None or not self._wanted("block"):
            return
        first, end, blocks = generated
        start, reported = self._reported or (first, 0)
        if blocks == reported:
            return
        self._reported = (end, blocks)
        self.publish("block", "/lmk/block", start, end - start, blocks - reported,
                     _newest_generation_ms(engine, blocks - reported))

    def _tick_levels(self, engine: Engine) -> None:
        heard, frames, peak, power = engine.played, 0, None, None
        while self._heard and self._heard[0][0] <= heard:  # only what the sink has played
            _, length, block_peak, block_power = self._heard.popleft()
            frames += length
            peak = block_peak if peak is None else np.maximum(peak, block_peak)
            power = block_power if power is None else power + block_power
        if not frames or not self._wanted("levels"):
            return
        levels = zip(_db(peak), _db(np.sqrt(power / frames)), strict=True)
        self.publish("levels", "/lmk/levels", *[db for pair in levels for db in pair])

    def _tick_latency(self, engine: Engine) -> None:
        if not engine.running or not self._wanted("latency"):
            return
        figures = engine.figures
        self.publish("latency", "/lmk/latency", _finite(figures.latency_ms.p50), _finite(figures.latency_ms.p95),
                     int(figures.underruns), float(figures.queue_ms))


def _newest_generation_ms(engine: Engine, blocks: int) -> float:
    """The mean time the newest ``blocks`` blocks took to generate. Per-block times live only in the
    engine's rolling window (its figures summarise the whole window), so this reads that window."""
    stats = engine._generation
    total = stats.total
    values = stats._values
    count = min(blocks, total, len(values))
    if not count:
        return -1.0
    newest = [(total - 1 - k) % len(values) for k in range(count)]
    return float(values[newest].mean())
