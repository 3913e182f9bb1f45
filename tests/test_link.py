"""Ableton Link: a real second peer, in a private network namespace; and the error paths."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap

import pytest

from livemusic_kernel import Engine, MissingExtraError


def test_a_missing_link_extra_names_the_extra(monkeypatch):
    from livemusic_kernel import link as link_module

    monkeypatch.setitem(sys.modules, "link", None)  # as if linkpython-extern were not installed
    with pytest.raises(MissingExtraError, match=r"'linkpython-extern'.*pip install 'livemusic-kernel\[link\]'"):
        link_module.LinkClock()


link = pytest.importorskip("link", reason="linkpython-extern is not installed (it is in the dev extra)")


def test_bad_link_settings_are_refused():
    from livemusic_kernel.link import LinkClock

    with pytest.raises(ValueError, match="positive number of beats"):
        LinkClock(quantum=0)
    with pytest.raises(ValueError, match="sync_every"):
        LinkClock(sync_every=5)
    clock = LinkClock()
    Engine("click", sink=None, clock=clock)
    with pytest.raises(ValueError, match="ramps are not shared over Link"):
        clock.set_tempo(100, ramp_beats=4)
    assert clock.peers == 0 and clock.session_tempo == 120


needs_netns = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                 reason="needs root and iproute2 for a private network namespace "
                                        "(Link multicasts on every interface); CI runs as root")


@needs_netns
def test_our_engine_joins_a_second_peer_follows_it_and_proposes_a_tempo():
    """A peer process at 100 BPM; ours starts at 120, takes the session's tempo and
    phase, then proposes 110, which the peer adopts."""
    from livemusic_kernel.bench import private_network

    code = textwrap.dedent("""
        import json
        from livemusic_kernel.bench import link_phase
        print(json.dumps(link_phase(8.0, propose=110.0)))
    """)
    result = private_network([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["peers"] == 1
    assert abs(figures["peer_tempo_end"] - 110) < 0.01 and figures["our_tempo_end"] == pytest.approx(110, abs=0.01)
    assert figures["samples"] > 50
    # A sixteenth of a beat at 100 BPM is 37.5 ms: the grids agree far closer than any musical unit
    # (benchmarks/link_phase.py measures the real figure over a minute).
    assert figures["p95_ms"] < 37.5
