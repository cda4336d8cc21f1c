"""Complementary suppression across bucket sizes: a published month minus its
published days must not reveal a withheld day (nor a day minus its hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from api.privacy import Figures, SecrecyRule, withheld_in_time
from api.routes.rollups import enclosing
from energy_core.domain.time import local_day_bounds

RULE = SecrecyRule(min_points=10, max_share=0.85)


def _month(days: list[Figures]) -> Figures:
    # The same 50 homes every day: points do not add up across days.
    return Figures(
        max(d.points for d in days),
        sum(d.value for d in days),
        sum(d.max_point for d in days),
    )


def _rest(parent: Figures, kids: list[tuple[str, Figures, bool]], out: set[str]):
    shown = [f for c, f, ok in kids if ok and c not in out]
    hidden = [f for c, f, ok in kids if not ok or c in out]
    value = parent.value - sum(f.value for f in shown)
    return value, hidden


def test_a_dominant_day_inside_a_published_month_takes_one_more_day() -> None:
    days = [(f"d{i:02}", Figures(50, 100.0 + i, 5.0), True) for i in range(30)]
    # One home's runaway day: 50 points, but one of them weighs 90 %.
    days.append(("d30", Figures(50, 1000.0, 900.0), False))
    month = Figures(50, sum(f.value for _, f, _ in days), 900.0 + 30 * 5.0)
    out = withheld_in_time(RULE, month, True, days)
    assert out == {"d00"}  # the smallest passing day, and only one
    value, hidden = _rest(month, days, out)
    # What month - published days gives now mixes two days and passes dominance.
    assert value == 1000.0 + 100.0
    top = min(month.max_point, sum(f.max_point for f in hidden))
    assert RULE.check(
        delivery_points=max(f.points for f in hidden), value=value, max_point_value=top
    ).published
    # Without the extra day the rest was exactly the dominant day: not safe.
    assert not RULE.check(
        delivery_points=50, value=1000.0, max_point_value=900.0
    ).published


def test_all_days_published_hide_nothing_and_need_nothing() -> None:
    days = [(f"d{i:02}", Figures(50, 100.0, 5.0), True) for i in range(31)]
    assert withheld_in_time(RULE, _month([f for _, f, _ in days]), True, days) == set()


def test_a_withheld_month_is_not_rebuilt_from_its_days() -> None:
    days = [(f"d{i:02}", Figures(12, 10.0, 1.0), True) for i in range(28)]
    out = withheld_in_time(RULE, _month([f for _, f, _ in days]), False, days)
    # One day goes (the smallest), so that the sum of the others is not the
    # month, and what stays unknown passes the rule on its own.
    assert out == {"d00"}
    value, hidden = _rest(_month([f for _, f, _ in days]), days, out)
    assert value == 10.0
    assert [f.points for f in hidden] == [12]


def test_data_in_the_parent_only_counts_as_unknown() -> None:
    # A day whose hours are all published but which also holds daily readings of
    # two homes (they feed P1D, not PT1H): day - hours is those two homes.
    hours = [(f"h{i:02}", Figures(40, 10.0, 1.0), True) for i in range(24)]
    day = Figures(42, 24 * 10.0 + 30.0, 25.0)
    out = withheld_in_time(RULE, day, True, hours)
    assert out
    assert len(out) < len(hours)


def test_dst_days_of_23_and_25_hours_take_their_own_hours() -> None:
    for day, hours in ((date(2025, 3, 30), 23), (date(2025, 10, 26), 25)):
        start, end = (t.astimezone(UTC) for t in local_day_bounds(day))
        assert end - start == timedelta(hours=hours)
        # Any hour inside the day widens to exactly that local day.
        mid = start + timedelta(hours=hours - 1)
        assert enclosing("P1D", mid, mid + timedelta(hours=1)) == (start, end)
        kids = [(f"h{i:02}", Figures(30, 10.0, 1.0), i != 5) for i in range(hours)]
        kids[5] = ("h05", Figures(3, 10.0, 4.0), False)  # too few homes
        parent = Figures(30, 10.0 * hours, 12.0)
        out = withheld_in_time(RULE, parent, True, kids)
        assert len(out) == 1  # one passing hour joins the small one
        assert all(c.startswith("h") for c in out)


def test_enclosing_months_and_hours() -> None:
    t0 = datetime(2025, 2, 10, 23, tzinfo=UTC)
    t1 = datetime(2025, 3, 3, 23, tzinfo=UTC)
    s, e = enclosing("P1M", t0, t1)
    assert (s, e) == (
        datetime(2025, 1, 31, 23, tzinfo=UTC),
        datetime(2025, 3, 31, 22, tzinfo=UTC),  # April starts in summer time
    )
    h0 = datetime(2025, 2, 10, 10, 30, tzinfo=UTC)
    assert enclosing("PT1H", h0, h0 + timedelta(minutes=30)) == (
        datetime(2025, 2, 10, 10, tzinfo=UTC),
        datetime(2025, 2, 10, 11, tzinfo=UTC),
    )
