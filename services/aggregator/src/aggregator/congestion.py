"""Congestion levels per neighbourhood: a pure state machine (no I/O, no clock).

Levels follow OpenADR 3 SIMPLE: 0 normal, 1 moderate, 2 high, 3 emergency shed.
The load/capacity ratio enters level ``n`` at ``thresholds[n-1]`` and leaves it
only below ``thresholds[n-1] - hysteresis``; any change of level must hold for
``min_duration`` before it is applied, so a level never flaps on one noisy sample.
Lifecycle: 0 -> n raised, n -> m > n escalated, n -> 0 < m < n deescalated,
n -> 0 cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class CongestionPolicy:
    """Thresholds (ratios of capacity), hysteresis and minimum duration."""

    thresholds: tuple[float, float, float] = (0.80, 0.95, 1.10)
    hysteresis: float = 0.05
    min_duration: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if list(self.thresholds) != sorted(self.thresholds) or self.thresholds[0] <= 0:
            raise ValueError("thresholds must be positive and increasing")
        if not 0 <= self.hysteresis < self.thresholds[0]:
            raise ValueError("hysteresis must be >= 0 and below the first threshold")

    def target(self, ratio: float, current: int) -> int:
        """The level the ratio calls for, given the current level (hysteresis)."""
        up = sum(1 for t in self.thresholds if ratio >= t)
        if up >= current:
            return up
        # Going down: a level is kept while the ratio stays above threshold - h.
        return sum(1 for t in self.thresholds[:current] if ratio >= t - self.hysteresis)


@dataclass(frozen=True, slots=True)
class Transition:
    """A level change to record and publish."""

    change: str  # raised | escalated | deescalated | cleared
    level: int
    previous_level: int
    at: datetime
    load_kw: float
    capacity_kw: float


@dataclass(slots=True)
class CongestionState:
    """One neighbourhood's level, and the change it is waiting to confirm."""

    level: int = 0
    pending: int | None = None
    pending_since: datetime | None = None

    def observe(
        self, policy: CongestionPolicy, load_kw: float, capacity_kw: float, at: datetime
    ) -> Transition | None:
        """Feeds one sample (``at`` = when the load was measured); maybe a change."""
        ratio = load_kw / capacity_kw if capacity_kw > 0 else 0.0
        wanted = policy.target(ratio, self.level)
        if wanted == self.level:
            self.pending = self.pending_since = None
            return None
        if self.pending != wanted:
            # A new candidate (or a change of direction) restarts the timer.
            self.pending, self.pending_since = wanted, at
        since = self.pending_since or at
        if at - since < policy.min_duration:
            return None
        previous, self.level = self.level, wanted
        self.pending = self.pending_since = None
        if previous == 0:
            change = "raised"
        elif wanted == 0:
            change = "cleared"
        else:
            change = "escalated" if wanted > previous else "deescalated"
        return Transition(change, wanted, previous, at, load_kw, capacity_kw)
