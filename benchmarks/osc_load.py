"""OSC under load: 2,000 messages a second over UDP on 127.0.0.1 for 10 s.

Every 10th message is a query (/lmk/query/clock) whose reply is counted;
every 100th is a bundle stamped 0.3 s ahead whose change is located in the
session log and compared with its stamp; the rest are weight and temperature
changes. Baseline in the same run: the same stream with no OSC traffic.

    python benchmarks/osc_load.py [--rate 2000] [--seconds 10]
"""

import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from livemusic_kernel import Engine
from livemusic_kernel.osc import OscServer

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--rate", type=int, default=2000, help="messages per second (default: 2000)")
parser.add_argument("--seconds", type=float, default=10.0)
args = parser.parse_args()


def message(address, *values):
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value)
    return builder.build()


def run(rate: int) -> dict:
    log = Path(tempfile.mkdtemp()) / "load.jsonl"
    engine = Engine("click", sink="null", quiet=True, log=log)
    engine.set_prompt("main", "C4")
    engine.set_prompt("air", "C6", weight=0.2)
    engine.start()
    server = OscServer(engine, port=0, log=lambda line: None).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.settimeout(0.2)
    replies, stamps = [0], []

    def receive():
        while not done.is_set():
            try:
                data, _ = client.recvfrom(65536)
            except TimeoutError:
                continue
            replies[0] += data.startswith(b"/lmk/clock")

    done = threading.Event()
    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    target, queries, sent = ("127.0.0.1", server.port), 0, 0
    began = time.monotonic()
    while rate and (elapsed := time.monotonic() - began) < args.seconds:
        due = int(elapsed * rate)
        while sent < due:
            if sent % 100 == 0:
                stamp = time.time() + 0.3
                bundle = OscBundleBuilder(stamp)
                bundle.add_content(message("/lmk/prompt", "main", f"midi {50 + sent // 100 % 30}"))
                client.sendto(bundle.build().dgram, target)
                stamps.append(stamp)
            elif sent % 10 == 0:
                client.sendto(message("/lmk/query/clock").dgram, target)
                queries += 1
            elif sent % 2:
                client.sendto(message("/lmk/weight", "air", (sent % 50) / 50).dgram, target)
            else:
                client.sendto(message("/lmk/temperature", 0.8 + (sent % 40) / 100).dgram, target)
            sent += 1
        time.sleep(0.0005)
    if not rate:
        time.sleep(args.seconds)
    time.sleep(1.0)
    done.set()
    receiver.join()
    offset = time.time() - time.monotonic()
    landed = [json.loads(line) for line in log.read_text().splitlines() if '"set_slot"' in line][2:]
    errors_ms = [abs(engine.heard_time(change["sample"]) + offset - stamp) * 1000
                 for change, stamp in zip(landed, stamps, strict=False)]
    if len(landed) != len(stamps):
        print(f"  warning: {len(stamps)} timetagged changes sent, {len(landed)} landed")
    server.close()
    engine.close()
    figures = engine.figures
    return {"sent": sent, "queries": queries, "replies": replies[0], "underruns": figures.underruns,
            "stamped": len(stamps), "stamp_error_max_ms": max(errors_ms, default=0.0),
            "received": server.received, "block_ms": figures.block_ms}


print(f"OSC load: {args.rate} messages/s for {args.seconds:g} s over UDP on 127.0.0.1, click model, null sink")
base = run(0)
load = run(args.rate)
unanswered = 100 * (load["queries"] - load["replies"]) / max(load["queries"], 1)
print(f"  sent {load['sent']} ({load['sent'] / args.seconds:.0f}/s), server received {load['received']}")
print(f"  queries {load['queries']}, replies {load['replies']}: {unanswered:.3f}% unanswered (target <= 0.1%)")
print(f"  underruns: {load['underruns']} under load, {base['underruns']} in the baseline with no traffic")
print(f"  {load['stamped']} timetagged changes: worst landing {load['stamp_error_max_ms']:.1f} ms from the stamp "
      f"(one block is {load['block_ms']:.0f} ms)")
