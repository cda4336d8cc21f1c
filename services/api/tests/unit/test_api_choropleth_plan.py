"""The map's bucket plan (whole months as P1M, the days around them as P1D) and
its fast form of the secrecy rule."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.choropleth import _passes, plan
from api.privacy import SecrecyRule


def test_whole_months_are_one_p1m_segment() -> None:
    assert plan(date(2025, 1, 1), date(2026, 1, 1)) == [
        ("P1M", date(2025, 1, 1), date(2026, 1, 1))
    ]


def test_days_around_the_months_are_p1d() -> None:
    assert plan(date(2025, 1, 15), date(2025, 12, 31)) == [
        ("P1D", date(2025, 1, 15), date(2025, 2, 1)),
        ("P1M", date(2025, 2, 1), date(2025, 12, 1)),
        ("P1D", date(2025, 12, 1), date(2025, 12, 31)),
    ]


def test_no_whole_month_inside_is_days_only() -> None:
    assert plan(date(2025, 3, 5), date(2025, 4, 10)) == [
        ("P1D", date(2025, 3, 5), date(2025, 4, 10))
    ]
    assert plan(date(2025, 3, 1), date(2025, 3, 2)) == [
        ("P1D", date(2025, 3, 1), date(2025, 3, 2))
    ]


@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(1, 400))
def test_the_plan_tiles_the_span(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    segments = plan(start, end)
    assert segments[0][1] == start
    assert segments[-1][2] == end
    for (_, _, z), (_, a, _) in itertools.pairwise(segments):
        assert z == a  # contiguous, no overlap
    for bucket, a, z in segments:
        assert a < z
        if bucket == "P1M":
            assert a.day == 1
            assert z.day == 1


@given(
    st.integers(0, 40),
    st.floats(-1e6, 1e7, allow_nan=False),
    st.floats(0, 1e7, allow_nan=False),
    st.sampled_from([None, 0.5, 0.85, 1.0]),
)
def test_the_fast_rule_is_the_rule(
    points: int, value: float, top: float, share: float | None
) -> None:
    rule = SecrecyRule(min_points=10, max_share=share)
    assert (
        _passes(rule, points, value, top)
        == rule.check(
            delivery_points=points, value=value, max_point_value=top
        ).published
    )
