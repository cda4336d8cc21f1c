"""Congestion state machine: levels, hysteresis, minimum duration (fake clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.congestion import CongestionPolicy, CongestionState, Transition
from energy_core.testing import FakeClock

POLICY = CongestionPolicy(
    thresholds=(0.8, 0.95, 1.1), hysteresis=0.05, min_duration=timedelta(seconds=30)
)
CAPACITY = 100.0


def feed(
    state: CongestionState, clock: FakeClock, load: float, seconds: int
) -> list[Transition]:
    """Samples every 5 s for ``seconds``; returns the transitions seen."""
    seen = []
    for _ in range(seconds // 5):
        t = state.observe(POLICY, load, CAPACITY, clock.now())
        if t is not None:
            seen.append(t)
        clock.advance(timedelta(seconds=5))
    return seen


def test_raise_only_after_minimum_duration() -> None:
    state, clock = CongestionState(), FakeClock()
    assert feed(state, clock, 85, 30) == []
    (t,) = feed(state, clock, 85, 10)
    assert (t.change, t.level, t.previous_level) == ("raised", 1, 0)


def test_short_spike_raises_nothing() -> None:
    state, clock = CongestionState(), FakeClock()
    assert feed(state, clock, 120, 20) == []
    assert feed(state, clock, 50, 60) == []
    assert state.level == 0


def test_escalate_deescalate_clear() -> None:
    state, clock = CongestionState(), FakeClock()
    changes = feed(state, clock, 85, 60) + feed(state, clock, 115, 60)
    changes += feed(state, clock, 85, 60) + feed(state, clock, 40, 60)
    assert [(t.change, t.level) for t in changes] == [
        ("raised", 1),
        ("escalated", 3),
        ("deescalated", 1),
        ("cleared", 0),
    ]


def test_hysteresis_keeps_level_just_below_threshold() -> None:
    state, clock = CongestionState(), FakeClock()
    feed(state, clock, 85, 60)
    assert state.level == 1
    # 77 % is below 80 % but above 80 - 5 %: stays at level 1, no flapping.
    assert feed(state, clock, 77, 300) == []
    assert state.level == 1
    (t,) = feed(state, clock, 74, 60)
    assert t.change == "cleared"


def test_oscillation_around_threshold_does_not_flap() -> None:
    state, clock = CongestionState(), FakeClock()
    changes = feed(state, clock, 78, 20)  # a sample at 78 % resets the timer
    for _ in range(20):
        changes += feed(state, clock, 82, 10) + feed(state, clock, 78, 10)
    assert changes == []  # 82 % never holds 30 s in a row
    feed(state, clock, 85, 60)
    for _ in range(20):
        changes += feed(state, clock, 82, 10) + feed(state, clock, 78, 10)
    assert changes == []  # once raised, 78 % stays within the hysteresis band
    assert state.level == 1


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="increasing"):
        CongestionPolicy(thresholds=(0.9, 0.8, 1.1))
    with pytest.raises(ValueError, match="hysteresis"):
        CongestionPolicy(hysteresis=0.9)
