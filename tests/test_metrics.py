"""Rolling statistics keep constant memory and summarise the recent window."""

import math

from livemusic_kernel.metrics import RollingStats, Summary


def test_summary_covers_only_the_last_window():
    stats = RollingStats(capacity=100)
    for value in range(1000):
        stats.add(value)
    summary = stats.summary()
    assert summary.count == 100 and stats.total == 1000
    assert summary.max == 999 and 900 <= summary.p50 <= 999


def test_an_empty_summary_says_so():
    summary = RollingStats().summary()
    assert summary.count == 0 and math.isnan(summary.p95) and str(summary) == "n/a"
    assert "p95" in str(Summary(3, 1.0, 1.0, 2.0, 3.0))
