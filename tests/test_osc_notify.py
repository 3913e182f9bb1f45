"""Subscriptions and their notifications (beat, bar, block, levels, latency...), over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from test_osc import Client, message

from livemusic_kernel import Engine
from livemusic_kernel._osc_notify import BLOCK_EVERY, DEFAULT_TOPICS, SILENCE_DB, TOPICS
from livemusic_kernel.osc import OscServer


@pytest.fixture
def live():
    """An engine that has not played yet (so a test can listen from its first sample), a server, a client
    and a listener: a second socket that subscribes."""
    engine = Engine("click", sink="null", quiet=True)
    lines: list[str] = []
    server = OscServer(engine, port=0, log=lines.append).start()
    server.lines = lines
    yield engine, server, Client(server.port), Client(server.port)
    server.close()
    engine.close()


def port_of(listener: Client) -> int:
    return listener.socket.getsockname()[1]


def collect(listener: Client, address: str, count: int) -> list[list]:
    """The arguments of the next ``count`` notifications at ``address`` (others are passed over)."""
    found = []
    while len(found) < count:
        got, args = listener.receive()
        if got == address:
            found.append(args)
    return found


def test_a_subscription_without_topics_gets_what_it_always_got(live):
    engine, server, client, listener = live
    engine.start()
    client.send(message("/lmk/subscribe", port_of(listener)))
    seen = []
    while seen.count("/lmk/beat") < 3:  # 1.5 s: ten /lmk/levels and a /lmk/latency, were they sent
        seen.append(listener.receive()[0])
    assert set(seen) <= {"/lmk/beat", "/lmk/message", "/lmk/link", "/lmk/error"}
    assert server.subscribers == {("127.0.0.1", port_of(listener)): DEFAULT_TOPICS}


def test_bar_ticks_on_every_downbeat_with_the_meter(live):
    engine, server, client, listener = live
    engine.set_bpm(240)
    engine.set_meter(3)
    engine.start()
    client.send(message("/lmk/subscribe", port_of(listener), "127.0.0.1", "bar", "beat"))
    ticks = []
    while sum(address == "/lmk/bar" for address, _ in ticks) < 3:
        ticks.append(listener.receive())
    for i, (address, args) in enumerate(ticks[:-1]):
        if address == "/lmk/bar":  # the downbeat's own beat follows its bar
            assert args[1] == 3 and ticks[i + 1] == ("/lmk/beat", [3 * args[0], args[0]])
        elif args[0] % 3 == 0:  # and every downbeat has its bar
            assert i > 0 and ticks[i - 1] == ("/lmk/bar", [args[0] // 3, 3])
    bars = [args[0] for address, args in ticks if address == "/lmk/bar"]
    beats = [args[0] for address, args in ticks if address == "/lmk/beat"]
    assert bars == list(range(bars[0], bars[0] + 3)) and beats == list(range(beats[0], beats[0] + len(beats)))


def test_block_notifications_are_contiguous_and_coalesced(live):
    engine, server, client, listener = live
    engine.start()
    subscribed = time.monotonic()
    client.send(message("/lmk/subscribe", port_of(listener), "block"))  # the host left out before topics
    blocks = collect(listener, "/lmk/block", 12)
    last = time.monotonic()
    for (sample, frames, _, _), (following, *_) in zip(blocks[:-1], blocks[1:], strict=True):
        assert following == sample + frames  # every generated frame is told of once, in order
    assert all(count >= 1 and frames > 0 and 0 < generation_ms < math.inf
               for sample, frames, count, generation_ms in blocks)
    steady = blocks[1:]  # after the first, every block released is a whole block
    assert sum(frames for _, frames, _, _ in steady) == engine.block_size * sum(count for _, _, count, _ in steady)
    # Every one was sent between the subscription and the last arrival, at least BLOCK_EVERY apart.
    assert len(blocks) <= (last - subscribed) / BLOCK_EVERY + 1
    assert blocks[-1][0] + blocks[-1][1] <= engine.position


def test_levels_measure_the_output_heard(live):
    engine, server, client, listener = live
    engine.set_bpm(240)
    heard = []
    engine.listen(lambda sample, block: heard.append(block.copy()))
    engine.start()
    client.send(message("/lmk/subscribe", port_of(listener), "levels"))
    levels = collect(listener, "/lmk/levels", 25)  # 2.5 s: bars of 1 s, so accented downbeats
    assert all(len(args) == 2 * engine.channels for args in levels)
    peaks = np.array([args[0::2] for args in levels])
    rms = np.array([args[1::2] for args in levels])
    loudest = 20 * np.log10(np.abs(np.concatenate(heard)).max(axis=0))
    assert peaks.max(axis=0) == pytest.approx(loudest, abs=0.01)  # OSC floats are 32-bit
    assert (rms <= peaks).all() and (peaks <= loudest + 0.01).all()
    # Clicks 250 ms apart and 100 ms windows: some windows hold a click, some hold the silence between.
    assert rms.min() == SILENCE_DB and rms.max() > -40


def test_latency_reports_the_engines_figures(live):
    engine, server, client, listener = live
    engine.start()
    client.send(message("/lmk/subscribe", port_of(listener), "127.0.0.1", "latency"))
    (p50, p95, underruns, queue_ms), = collect(listener, "/lmk/latency", 1)
    assert (p50, p95) == (-1, -1)  # no change has been heard yet
    client.send(message("/lmk/prompt", "main", "C5"))
    while p50 == -1:
        (p50, p95, underruns, queue_ms), = collect(listener, "/lmk/latency", 1)
    figures = engine.figures
    assert (p50, p95) == pytest.approx((figures.latency_ms.p50, figures.latency_ms.p95), rel=1e-6)
    assert 0 < p50 <= p95 and 0 <= underruns <= figures.underruns and queue_ms > 0


def test_topics_are_chosen_replaced_and_dropped(live):
    engine, server, client, listener = live
    engine.start()
    target = ("127.0.0.1", port_of(listener))
    client.send(message("/lmk/subscribe", port_of(listener), "levels"))
    assert {listener.receive()[0] for _ in range(10)} == {"/lmk/levels"}
    client.send(message("/lmk/subscribe", port_of(listener), "localhost", "beat", "latency"))  # replaces
    while listener.receive()[0] != "/lmk/beat":  # the levels already on their way
        pass
    assert {listener.receive()[0] for _ in range(3)} <= {"/lmk/beat", "/lmk/latency"}
    assert server.subscribers == {target: {"beat", "latency"}}
    client.send(message("/lmk/unsubscribe", port_of(listener), "beat"))
    assert client.ask(message("/lmk/query/clock"))[0] == "/lmk/clock"  # the server has read both
    assert server.subscribers == {target: {"latency"}}
    client.send(message("/lmk/subscribe", port_of(listener), "all"))
    client.ask(message("/lmk/query/clock"))
    assert server.subscribers == {target: set(TOPICS)}
    client.send(message("/lmk/unsubscribe", port_of(listener)))
    client.ask(message("/lmk/query/clock"))
    assert server.subscribers == {}


@pytest.mark.parametrize("args, reason", [
    ((9000, "127.0.0.1", "beats"), "unknown topic 'beats'; choose from all, beat, bar, error, message, link, "
                                   "block, levels, latency"),
    ((9000, "levels", "loudness"), "unknown topic 'loudness'; choose from all, "),
    ((9000, "127.0.0.1", 3), "topics are names, got int 3; choose from all, "),
    ((9000, "synth.local", "beat"), "host must be an IPv4 address or localhost (names are not looked up), "
                                    "got 'synth.local'; topics go after the port or the host: all, beat, "),
    ((9000, "::1"), "host must be an IPv4 address"),
])
def test_bad_topics_and_hosts_get_an_error_with_the_choices(live, args, reason):
    engine, server, client, listener = live
    for address in ("/lmk/subscribe", "/lmk/unsubscribe"):
        replied, (about, why) = client.ask(message(address, *args))
        assert (replied, about) == ("/lmk/error", address) and why.startswith(reason)
    assert server.subscribers == {}


def test_a_subscriber_that_cannot_be_reached_stops_nothing(live):
    engine, server, client, listener = live
    engine.start()
    # The broadcast address without SO_BROADCAST: every send to it fails with EACCES.
    client.send(message("/lmk/subscribe", 9, "255.255.255.255", "all"))
    client.send(message("/lmk/subscribe", port_of(listener), "beat", "levels"))
    played = engine.played
    beats = collect(listener, "/lmk/beat", 3)
    assert [beat for beat, _ in beats] == list(range(beats[0][0], beats[0][0] + 3))
    assert engine.running and engine.played > played and engine.figures.errors == 0
    failures = [line for line in server.lines if line.startswith("cannot notify 255.255.255.255:9")]
    assert len(failures) == 1, server.lines  # once per streak, not once per send
