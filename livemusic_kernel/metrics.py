"""The engine's figures: what it measures about itself, and how to read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Figures", "Summary", "RollingStats"]


@dataclass(frozen=True)
class Summary:
    """Statistics of a rolling window of measurements (milliseconds)."""

    count: int = 0
    mean: float = float("nan")
    p50: float = float("nan")
    p95: float = float("nan")
    max: float = float("nan")

    def __str__(self) -> str:
        if not self.count:
            return "n/a"
        return f"p50 {self.p50:.1f}  p95 {self.p95:.1f}  max {self.max:.1f} ms (n={self.count})"


class RollingStats:
    """The last ``capacity`` values in a preallocated array: constant memory
    however long the engine runs."""

    def __init__(self, capacity: int = 2048):
        self._values = np.zeros(capacity)
        self._count = 0

    def add(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    @property
    def total(self) -> int:
        return self._count

    def summary(self) -> Summary:
        values = self._values[:min(self._count, len(self._values))]
        if not len(values):
            return Summary()
        p50, p95 = np.percentile(values, [50, 95])
        return Summary(len(values), float(values.mean()), float(p50), float(p95), float(values.max()))


@dataclass(frozen=True)
class Figures:
    """A snapshot of the engine's health. See the README's "Reading the figures"."""

    sample_rate: int
    block_ms: float
    lead_ms: float
    generated_s: float       #: audio generated since start
    played_s: float          #: audio the sink has taken
    blocks: int
    underruns: int           #: sink callbacks that found the ring short
    underrun_ms: float       #: silence those underruns filled in
    generation_ms: Summary   #: time to generate one block
    realtime_factor: float   #: mean generation time / block duration (< 1 keeps up)
    queue_ms: float          #: audio ready ahead of playback now
    queue_min_ms: float      #: the least audio ever ready ahead while playing
    pending_events: int      #: posted changes not yet applied
    latency_ms: Summary      #: from posting a change to hearing it
    events: int
    late_events: int         #: changes that could not land on the sample asked for
    errors: int              #: backend steps that raised
    last_error: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        rows = [
            ("generated / played", f"{self.generated_s:.1f} s / {self.played_s:.1f} s"),
            ("block / lead", f"{self.block_ms:.1f} ms / {self.lead_ms:.1f} ms"),
            ("generation per block", str(self.generation_ms)),
            ("real-time factor", f"{self.realtime_factor:.3f}"),
            ("queue now / min", f"{self.queue_ms:.1f} ms / {self.queue_min_ms:.1f} ms"),
            ("control latency", str(self.latency_ms)),
            ("underruns", f"{self.underruns} ({self.underrun_ms:.1f} ms of silence)"),
            ("events (late)", f"{self.events} ({self.late_events})"),
            ("errors", f"{self.errors}" + (f" (last: {self.last_error})" if self.last_error else "")),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
