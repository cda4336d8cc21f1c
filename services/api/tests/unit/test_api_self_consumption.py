"""Self-consumption = gross production - injection, only where both are measured,
and its city aggregate behind the map's secrecy walk (per day, complementary)."""

from __future__ import annotations

from datetime import date

from api import choropleth
from api import self_consumption as sc
from api.privacy import SecrecyRule

D1, D2, D3, D4 = (date(2025, 10, d) for d in (25, 26, 27, 28))  # 26th: 25 hours


def test_both_sides_give_the_difference_one_side_says_which() -> None:
    days = sc.compose(
        gross={D1: 9_000.0, D2: 7_000.0, D4: 1_000.0},
        injection={D1: 4_000.0, D2: 7_000.0, D3: 2_500.0, D4: 1_500.0},
    )
    assert [d.day for d in days] == [D1, D2, D3, D4]
    assert days[0] == sc.Day(D1, 9_000.0, 4_000.0, 5_000.0, sc.BOTH)
    assert days[1].self_consumed_wh == 0.0  # all exported: a real zero
    assert days[1].state == sc.BOTH
    assert days[2] == sc.Day(D3, None, 2_500.0, None, sc.INJECTION_ONLY)
    # the sensor saw less than the meter exported: not a negative, not a zero
    assert days[3] == sc.Day(D4, 1_000.0, 1_500.0, None, sc.DISAGREE)
    only_gross = sc.compose(gross={D1: 3_000.0}, injection={})
    assert only_gross == [sc.Day(D1, 3_000.0, None, None, sc.PRODUCTION_ONLY)]
    assert sc.compose({}, {}) == []


def _rows(per_iris: dict[str, list[tuple[int, float, float]]]) -> list[dict]:
    """CITY_DAYS rows: per IRIS and day (n, v, mx), and the commune's per day."""
    out: list[dict] = []
    days = max(len(v) for v in per_iris.values())
    for t in range(days):
        n_all, v_all, mx_all = 0, 0.0, 0.0
        for iris, figs in per_iris.items():
            if t < len(figs):
                n, v, mx = figs[t]
                out.append(
                    {"iris": iris, "t": t, "n": n, "v": v, "mx": mx, "whole": False}
                )
                n_all, v_all, mx_all = n_all + n, v_all + v, max(mx_all, mx)
        out.append(
            {"iris": None, "t": t, "n": n_all, "v": v_all, "mx": mx_all, "whole": True}
        )
    return out


RULE = SecrecyRule(min_points=10, max_share=0.85)


def test_an_iris_under_the_threshold_is_suppressed_and_its_sibling_withheld() -> None:
    rows = _rows({
        "381510101": [(12, 12_000.0, 1_500.0)] * 3,
        "381510102": [(4, 4_000.0, 1_200.0)] * 3,
    })  # fmt: skip
    nodes = sc.city_nodes("38151", ["381510101", "381510102", "381510103"], rows)
    per = choropleth.totals(RULE, nodes, 1, ["381510101", "381510102", "381510103"])
    assert per["381510102"].state == "suppressed"
    assert per["381510102"].reason == "fewer than 10 delivery points"
    # the commune (16 points) is published: 16 - 12 would give the 4 away
    whole = choropleth.totals(RULE, nodes, 0, ["38151"])["38151"]
    assert whole.state == "published"
    assert whole.value == 48_000.0
    assert per["381510101"].state == "suppressed"
    assert "by difference" in (per["381510101"].reason or "")
    assert per["381510103"].state == "empty"


def test_one_day_under_the_threshold_withholds_the_span() -> None:
    ok = (12, 12_000.0, 1_500.0)
    rows = _rows({
        "381510101": [ok, ok, (9, 9_000.0, 1_500.0), ok],
        "381510102": [ok] * 4,
        "381510103": [ok] * 4,
    })  # fmt: skip
    nodes = sc.city_nodes("38151", ["381510101", "381510102", "381510103"], rows)
    per = choropleth.totals(RULE, nodes, 1, ["381510101", "381510102", "381510103"])
    # 3 of 4 days would pass, the span does not: two spans one day apart would
    # give that day of 9 homes by difference
    assert per["381510101"].state == "suppressed"
    # that day, 33 - 24 would give those 9 away: the smallest sibling is withheld
    assert per["381510102"].state == "suppressed"
    assert "by difference" in (per["381510102"].reason or "")
    assert per["381510103"].state == "published"
    assert per["381510103"].value == 48_000.0
    assert per["381510103"].delivery_points == 12


def test_a_dominant_home_suppresses_the_cell() -> None:
    rows = _rows({
        "381510101": [(10, 10_000.0, 9_000.0)],  # one home is 90 % of the day
        "381510102": [(12, 12_000.0, 1_500.0)],
        "381510103": [(12, 12_000.0, 1_500.0)],
    })  # fmt: skip
    nodes = sc.city_nodes("38151", ["381510101", "381510102", "381510103"], rows)
    per = choropleth.totals(RULE, nodes, 1, ["381510101"])
    assert per["381510101"].state == "suppressed"
    assert "exceeds" in (per["381510101"].reason or "")


def test_days_without_any_point_with_both_sides_are_no_bucket() -> None:
    rows = [{"iris": "381510101", "t": 0, "n": 0, "v": 0.0, "mx": 0.0, "whole": False}]
    nodes = sc.city_nodes("38151", ["381510101"], rows)
    assert nodes[1, "381510101"].buckets == {}
