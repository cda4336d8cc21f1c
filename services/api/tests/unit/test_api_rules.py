"""Secrecy gate, tariffs (HP/HC, Tempo, dated grids), consent URL, i18n."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.consent_page import DataConnectAuthorize
from api.i18n import MESSAGES, language
from api.privacy import Children, Figures, SecrecyRule, rest_is_safe, withheld
from api.tariffs import Contract, Tariff, cost_of, in_force, in_ranges, price_key
from energy_core.dataconnect import duration_months
from energy_core.domain.time import PARIS
from energy_core.errors import InvalidValueError


def test_secrecy_threshold_and_dominance() -> None:
    rule = SecrecyRule(min_points=10, max_share=0.85)
    small = rule.check(delivery_points=9, value=100, max_point_value=1)
    assert not small.published
    assert "9" not in (small.reason or "")  # how many reported is not said either
    assert rule.check(delivery_points=10, value=100, max_point_value=85).published
    verdict = rule.check(delivery_points=50, value=100, max_point_value=86)
    assert not verdict.published
    assert "85%" in (verdict.reason or "")
    assert (
        SecrecyRule(3, None)
        .check(delivery_points=3, value=1, max_point_value=1)
        .published
    )


@given(points=st.integers(0, 1000), value=st.floats(0, 1e9), share=st.floats(0, 1))
def test_secrecy_never_publishes_small_aggregates(points, value, share) -> None:
    verdict = SecrecyRule().check(
        delivery_points=points, value=value, max_point_value=value * share
    )
    # a zero total has no dominant point (every point is 0): only the count applies
    if points < 10 or (share > 0.85 and value > 0):
        assert not verdict.published
        assert verdict.reason


def test_offpeak_ranges_wrap_midnight() -> None:
    ranges = [(time(22), time(6))]
    assert in_ranges(time(23, 30), ranges)
    assert in_ranges(time(5, 30), ranges)
    assert not in_ranges(time(6), ranges)
    assert not in_ranges(time(12), ranges)


def test_tempo_day_runs_six_to_six() -> None:
    contract = Contract("tempo", 6)
    colours = {date(2026, 1, 5): "red", date(2026, 1, 6): "blue"}
    # 05:30 on the 6th still belongs to the red Tempo day of the 5th (HC).
    early = datetime(2026, 1, 6, 5, 30, tzinfo=PARIS)
    assert price_key(contract, early, colours) == "red_hc"
    assert (
        price_key(contract, datetime(2026, 1, 5, 9, tzinfo=PARIS), colours) == "red_hp"
    )
    assert (
        price_key(contract, datetime(2026, 1, 6, 9, tzinfo=PARIS), colours) == "blue_hp"
    )


def test_cost_never_reprices_history_and_flags_gaps() -> None:
    grids = [
        Tariff("base", 6, date(2026, 1, 1), date(2026, 2, 1), 31.0, {"base": 0.1}),
        Tariff("base", 6, date(2026, 2, 1), None, 28.0, {"base": 0.3}),
    ]
    jan = datetime(2026, 1, 31, 12, tzinfo=UTC)
    feb = datetime(2026, 2, 1, 12, tzinfo=UTC)
    dec = datetime(2025, 12, 31, 12, tzinfo=UTC)
    cost = cost_of(
        [(jan, 1000.0), (feb, 1000.0), (dec, 1000.0)],
        contract=Contract("base", 6),
        tariffs=grids,
        days=[date(2026, 1, 31), date(2026, 2, 1)],
    )
    assert cost.energy_eur == pytest.approx(0.4)
    assert cost.standing_eur == pytest.approx(1.0 + 1.0)
    assert cost.kwh == 3
    assert cost.unpriced_days == (date(2025, 12, 31),)


def test_consent_url_and_duration_cap() -> None:
    port = DataConnectAuthorize(
        base_url="http://127.0.0.1:8092/authorize",
        client_id="cid",
        redirect_uri="http://127.0.0.1/cb",
    )
    query = parse_qs(urlparse(port.authorize_url(state="xyz", duration="P36M")).query)
    assert query == {
        "client_id": ["cid"],
        "response_type": ["code"],
        "redirect_uri": ["http://127.0.0.1/cb"],
        "state": ["xyz"],
        "duration": ["P36M"],
    }
    with pytest.raises(InvalidValueError, match="duration"):
        port.authorize_url(state="x", duration="P3Y1M")
    assert duration_months("P1Y6M") == 18
    with pytest.raises(InvalidValueError, match="duration"):
        duration_months("bogus")


def test_languages() -> None:
    assert MESSAGES["fr"].keys() == MESSAGES["en"].keys()
    assert language(None, "", "fr") == "fr"
    assert language(None, "en-GB,en;q=0.9", "fr") == "en"
    assert language("fr", "en", "fr") == "fr"


@given(
    consumers=st.integers(0, 60),
    producers=st.integers(0, 60),
    data=st.data(),
)
def test_live_load_never_published_for_fewer_than_ten(consumers, producers, data):
    # Whatever mix of directions actually reports, a published direction had at
    # least 10 reporting meters (the sample only gives their total).
    c = data.draw(st.integers(0, consumers), label="consumers reporting")
    p = data.draw(st.integers(0, producers), label="producers reporting")
    verdict = SecrecyRule().check_load(
        meters_reporting=c + p,
        consumers=consumers,
        producers=producers,
        production_kw=float(p),
    )
    if verdict.consumption.published:
        assert c >= 10
    if verdict.production.published:
        assert p >= 10 or producers == 0
    if verdict.net.published:
        assert verdict.consumption.published
        assert verdict.production.published


@given(
    homes=st.integers(0, 40),
    data=st.data(),
)
def test_live_load_by_direction_counts_the_points_that_make_each_sum(homes, data):
    # Homes that consume, some of them with panels too (a PV home is ONE delivery
    # point in both directions): with the per-direction counts of the sample, a
    # direction is published exactly when >= 10 points make it, whatever the
    # registry's totals are (the old bound hid 16 homes' consumption when 11 of
    # them had panels: 16 - 11 < 10).
    with_pv = data.draw(st.integers(0, homes), label="homes with panels")
    verdict = SecrecyRule().check_load(
        meters_reporting=homes,
        consumers=homes,
        producers=with_pv,
        production_kw=float(with_pv),
        consumers_reporting=homes,
        producers_reporting=with_pv,
    )
    assert verdict.consumption.published == (homes >= 10)
    assert verdict.production.published == (with_pv >= 10 or with_pv == 0)
    assert verdict.net.published == (
        verdict.consumption.published and verdict.production.published
    )


def test_ouest_nord_s_sixteen_homes_eleven_with_panels_show_their_consumption():
    rule = SecrecyRule()
    old = rule.check_load(
        meters_reporting=16, consumers=16, producers=11, production_kw=5.0
    )
    assert not old.consumption.published  # the bound without direction counts
    new = rule.check_load(
        meters_reporting=16, consumers=16, producers=11, production_kw=5.0,
        consumers_reporting=16, producers_reporting=11,
    )  # fmt: skip
    assert new.consumption.published
    assert new.production.published
    few = rule.check_load(
        meters_reporting=16, consumers=16, producers=11, production_kw=5.0,
        consumers_reporting=9, producers_reporting=11,
    )  # fmt: skip
    assert not few.consumption.published  # 7 homes sent only their panels' power
    assert not few.net.published


def test_a_new_grid_wins_without_closing_the_previous_one() -> None:
    # An operator adds the 1 Feb grid and forgets to set valid_to on the old one:
    # from 1 Feb on, the new prices apply; before, the old ones still do.
    old = Tariff("base", 6, date(2025, 8, 1), None, 12.0, {"base": 0.10})
    new = Tariff("base", 6, date(2026, 2, 1), None, 13.0, {"base": 0.20})
    assert in_force([old, new], date(2026, 3, 1)) is new
    assert in_force([old, new], date(2026, 1, 31)) is old
    cost = cost_of(
        [(datetime(2026, 3, 1, 12, tzinfo=UTC), 1000.0)],
        contract=Contract("base", 6),
        tariffs=[old, new],
        days=[],
    )
    assert cost.energy_eur == pytest.approx(0.20)


def test_tempo_day_without_colour_is_unpriced_not_blue() -> None:
    contract = Contract("tempo", 6)
    at = datetime(2026, 1, 7, 9, tzinfo=PARIS)
    assert price_key(contract, at, {}) is None
    grid = Tariff(
        "tempo",
        6,
        date(2025, 8, 1),
        None,
        12.0,
        {"blue_hp": 0.16, "blue_hc": 0.13, "red_hp": 0.76, "red_hc": 0.16},
    )
    cost = cost_of([(at, 1000.0)], contract=contract, tariffs=[grid], days=[])
    assert cost.energy_eur == 0
    assert cost.kwh == 1
    assert cost.unpriced_days == (date(2026, 1, 7),)


def test_complementary_suppression_withholds_the_smallest_passing_children() -> None:
    rule = SecrecyRule(10, None)
    # A published parcel of 41: its block of 40 would leave the house (1) exposed.
    parcel = Figures(41, 41.0, 2.0)
    kids = Children(
        passing_points=40, passing_value=40.0, failing_points=1, failing_max=1.0
    )
    block = [("block", Figures(40, 40.0, 2.0))]
    assert not rest_is_safe(rule, parcel, True, kids)
    assert withheld(rule, parcel, True, kids, block) == {"block"}
    # 40 + 6 + 5: the two small ones (11 points) stay unknown together: safe.
    kids = Children(40, 40.0, 11, 1.0)
    assert withheld(rule, Figures(51, 51.0, 2.0), True, kids, block) == set()
    # Fully covered by passing children: fine if the parent is published, but a
    # withheld parent would be rebuilt by adding them up: the smallest goes.
    pair = [("a", Figures(12, 12.0, 1.0)), ("b", Figures(15, 15.0, 1.0))]
    kids = Children(27, 27.0, 0, 0.0)
    assert withheld(rule, Figures(27, 27.0, 1.0), True, kids, pair) == set()
    assert withheld(rule, Figures(27, 27.0, 1.0), False, kids, pair) == {"a"}
