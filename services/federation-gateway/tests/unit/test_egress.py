"""egress.decide: the one decision of what leaves, every branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.privacy import Figures, SecrecyRule
from federation_gateway.egress import (
    Aggregate,
    AlertItem,
    Consent,
    Decision,
    Family,
    IndividualSeries,
    PeerGrant,
    PeerSeries,
    Timeline,
    decide,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
RULE = SecrecyRule(min_points=10, max_share=0.85)
PEER = PeerGrant(
    "a.example",
    territories=frozenset({"38151"}),
    levels=frozenset({"neighbourhood"}),
    buckets=frozenset({"P1D"}),
    series=True,
)
AGG = Aggregate("neighbourhood", "381510101", "38151", "P1D", 1000.0, 12, 100.0)
CONSENT = Consent(
    "c1",
    "12345678901234",
    "a.example",
    NOW - timedelta(days=30),
    NOW + timedelta(days=30),
)
SERIES = IndividualSeries(
    "12345678901234", NOW - timedelta(days=3), NOW - timedelta(days=1), CONSENT
)


def test_a_passing_aggregate_leaves() -> None:
    assert decide(PEER, AGG, rule=RULE, now=NOW).allowed


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (Aggregate("neighbourhood", "381510101", "38151", "P1D", 1000, 9, 10), "fewer"),
        (
            Aggregate("neighbourhood", "381510101", "38151", "P1D", 1000, 12, 900),
            "exceeds",
        ),
        (Aggregate("commune", "38151", "38151", "P1D", 1000, 50, 10), "level"),
        (
            Aggregate("neighbourhood", "381510101", "38151", "PT1H", 1000, 50, 10),
            "bucket",
        ),
        (
            Aggregate("neighbourhood", "380000101", "38000", "P1D", 1000, 50, 10),
            "territory",
        ),
    ],
)
def test_aggregates_outside_the_grant_or_the_rule_stay(
    item: Aggregate, reason: str
) -> None:
    decision = decide(PEER, item, rule=RULE, now=NOW)
    assert not decision.allowed
    assert reason in decision.reason


def test_unknown_and_revoked_peers_get_nothing() -> None:
    assert decide(None, AGG, rule=RULE, now=NOW).reason == "unknown peer"
    revoked = PeerGrant(**{**_fields(PEER), "revoked_at": NOW})
    assert decide(revoked, AGG, rule=RULE, now=NOW).reason == "peer revoked"
    assert decide(revoked, SERIES, rule=RULE, now=NOW).reason == "peer revoked"


def _fields(grant: PeerGrant) -> dict[str, object]:
    return {f: getattr(grant, f) for f in grant.__slots__}


def test_a_consented_series_leaves_within_its_window() -> None:
    assert decide(PEER, SERIES, rule=RULE, now=NOW).allowed


@pytest.mark.parametrize(
    ("consent", "reason"),
    [
        (None, "no consent"),
        (
            Consent(
                "c",
                "12345678901234",
                "b.example",
                CONSENT.starts_at,
                CONSENT.expires_at,
            ),
            "no consent",
        ),
        (
            Consent(
                "c",
                "99999999999999",
                "a.example",
                CONSENT.starts_at,
                CONSENT.expires_at,
            ),
            "no consent",
        ),
        (
            Consent(
                "c",
                "12345678901234",
                "a.example",
                CONSENT.starts_at,
                CONSENT.expires_at,
                NOW,
            ),
            "revoked",
        ),
        (
            Consent("c", "12345678901234", "a.example", CONSENT.starts_at, NOW),
            "not live",
        ),
        (
            Consent(
                "c",
                "12345678901234",
                "a.example",
                NOW - timedelta(days=2),
                NOW + timedelta(days=9),
            ),
            "window",
        ),
        (
            Consent(
                "c",
                "12345678901234",
                "a.example",
                CONSENT.starts_at,
                CONSENT.expires_at,
                verified=False,
            ),
            "not verified",
        ),
    ],
)
def test_a_series_without_a_live_consent_for_that_peer_stays(
    consent: Consent | None, reason: str
) -> None:
    item = IndividualSeries(SERIES.meter_id, SERIES.start, SERIES.end, consent)
    decision = decide(PEER, item, rule=RULE, now=NOW)
    assert not decision.allowed
    assert reason in decision.reason


def test_a_former_tenant_or_data_outside_the_holders_window_stays() -> None:
    moved = Consent(
        "c",
        SERIES.meter_id,
        "a.example",
        CONSENT.starts_at,
        CONSENT.expires_at,
        holder_has_access=False,
    )
    item = IndividualSeries(SERIES.meter_id, SERIES.start, SERIES.end, moved)
    assert "no access" in decide(PEER, item, rule=RULE, now=NOW).reason
    newer = Consent(
        "c",
        SERIES.meter_id,
        "a.example",
        CONSENT.starts_at,
        CONSENT.expires_at,
        data_from=NOW - timedelta(days=2),
    )
    item = IndividualSeries(SERIES.meter_id, SERIES.start, SERIES.end, newer)
    assert "window" in decide(PEER, item, rule=RULE, now=NOW).reason


def test_a_peer_without_series_in_its_grant_gets_none_even_with_consent() -> None:
    grant = PeerGrant(**{**_fields(PEER), "series": False})
    assert not decide(grant, SERIES, rule=RULE, now=NOW).allowed


def test_data_received_from_a_peer_is_passed_on_only_where_its_origin_allows() -> None:
    kept = PeerSeries("c.example")
    assert not decide(PEER, kept, rule=RULE, now=NOW).allowed
    assert decide(
        PEER, PeerSeries("c.example", frozenset({"a.example"})), rule=RULE, now=NOW
    ).allowed


def test_a_naive_clock_is_a_bug() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(PEER, AGG, rule=RULE, now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("grant", "points", "reason"),
    [
        (PEER, 12, ""),
        (PEER, 9, "fewer than 10 delivery points"),
        (
            PeerGrant("a.example", territories=frozenset({"38151"}),
                      levels=frozenset({"commune"})),
            12,
            "level neighbourhood",
        ),
        (
            PeerGrant("a.example", territories=frozenset({"38185"}),
                      levels=frozenset({"neighbourhood"})),
            12,
            "territory not shared",
        ),
    ],
)  # fmt: skip
def test_an_alert_leaves_only_for_a_granted_neighbourhood_above_the_threshold(
    grant: PeerGrant, points: int, reason: str
) -> None:
    decision = decide(
        grant, AlertItem("381510101", "38151", points), rule=RULE, now=NOW
    )
    assert decision.allowed is (reason == "")
    assert reason in decision.reason


def _iris(code: str, f: Figures, family: Family) -> Aggregate:
    return Aggregate(
        "neighbourhood", code, "38151", "P1D", f.value, f.points, f.max_point, family
    )


def test_a_suppressed_iris_under_a_published_commune_takes_one_sibling_with_it() -> (
    None
):
    # Commune 38151: three IRIS of 12, 15 and 4 points; the 4-point one fails the
    # basic rule. Publishing the commune and both others would give it away as
    # commune - 12 - 15; the smallest passing sibling (12 points) is withheld too.
    small, mid, big = (
        Figures(4, 400.0, 150.0),
        Figures(12, 1200.0, 150.0),
        Figures(15, 1500.0, 150.0),
    )
    commune = Figures(31, 3100.0, 150.0)
    family = Family(
        commune, (("381510101", small), ("381510102", mid), ("381510103", big))
    )
    left = {
        code
        for code, f in family.children
        if decide(PEER, _iris(code, f, family), rule=RULE, now=NOW).allowed
    }
    assert left == {"381510103"}
    refused = decide(PEER, _iris("381510102", mid, family), rule=RULE, now=NOW)
    assert "parent" in refused.reason
    # What a peer can compute of the rest: commune - published IRIS = 16 points'
    # worth, never the 4-point IRIS alone.
    assert commune.value - big.value != small.value
    # Without the family (no parent rollup) the basic rule alone decides.
    alone = Family(None, family.children)
    assert decide(PEER, _iris("381510102", mid, alone), rule=RULE, now=NOW).allowed


def test_siblings_stay_published_when_what_stays_unknown_is_safe() -> None:
    # Two failing IRIS of 6 and 5 points: together 11, above the threshold, so the
    # commune minus the passing one reveals no fewer than 10 points.
    family = Family(
        Figures(31, 3100.0, 100.0),
        (
            ("381510101", Figures(6, 600.0, 100.0)),
            ("381510102", Figures(5, 500.0, 100.0)),
            ("381510103", Figures(20, 2000.0, 100.0)),
        ),
    )
    f = family.children[2][1]
    assert decide(PEER, _iris("381510103", f, family), rule=RULE, now=NOW).allowed


def test_children_of_a_withheld_commune_must_not_rebuild_it() -> None:
    # One home weighs 90 % of the commune: the commune and its IRIS fail
    # dominance. Under a withheld parent what stays unknown must pass the rule
    # itself (privacy.withheld, as in the api); with the other IRIS published that
    # rest is the dominated IRIS alone, so the other IRIS stays in too.
    family = Family(
        Figures(30, 10_000.0, 9_000.0),
        (
            ("381510101", Figures(15, 9_500.0, 9_000.0)),
            ("381510102", Figures(15, 500.0, 40.0)),
        ),
    )
    verdicts = {
        code: decide(PEER, _iris(code, f, family), rule=RULE, now=NOW).allowed
        for code, f in family.children
    }
    assert verdicts == {"381510101": False, "381510102": False}


def _day(f: Figures, timeline: Timeline | None = None) -> Aggregate:
    return Aggregate(
        "neighbourhood",
        "381510101",
        "38151",
        "P1D",
        f.value,
        f.points,
        f.max_point,
        timeline=timeline,
    )


def test_a_withheld_day_under_a_published_month_takes_one_more_day_with_it() -> None:
    # Three days of one IRIS, the second of 4 points only; the month passes.
    # Month - day 1 - day 3 would be day 2: the smaller passing day goes too.
    days = {
        "d1": Figures(15, 1_500.0, 150.0),
        "d2": Figures(4, 400.0, 150.0),
        "d3": Figures(15, 1_400.0, 150.0),
    }
    month = Aggregate("neighbourhood", "381510101", "38151", "P1M", 3_300.0, 15, 450.0)
    children = tuple((k, _day(f)) for k, f in days.items())
    grant = PeerGrant(
        "a.example",
        territories=frozenset({"38151"}),
        levels=frozenset({"neighbourhood"}),
        buckets=frozenset({"P1D", "P1M"}),
    )
    left = {
        k
        for k, f in days.items()
        if decide(
            grant, _day(f, Timeline(k, month, children)), rule=RULE, now=NOW
        ).allowed
    }
    assert left == {"d1"}
    assert decide(grant, month, rule=RULE, now=NOW).allowed
    # Without the month's rollup there is nothing to subtract from.
    alone = Timeline("d3", None, children)
    assert decide(grant, _day(days["d3"], alone), rule=RULE, now=NOW).allowed


def test_a_parcel_is_covered_by_its_iris_or_commune_code_never_by_an_empty_one() -> (
    None
):
    parcel = Aggregate(
        "parcel",
        "38151000AB0001",
        "38151",
        "P1D",
        1000.0,
        12,
        100.0,
        iris="381510101",
    )

    def grant(*codes: str) -> PeerGrant:
        return PeerGrant(
            "a.example",
            territories=frozenset(codes),
            levels=frozenset({"parcel"}),
            buckets=frozenset({"P1D"}),
        )

    for codes in (("381510101",), ("38151",), ("38151000AB0001",)):
        assert decide(grant(*codes), parcel, rule=RULE, now=NOW).allowed
    refused = Decision(False, "territory not shared with this peer")
    other = grant("381510102", "38185")  # a sibling IRIS, another commune
    assert decide(other, parcel, rule=RULE, now=NOW) == refused
    # a place whose IRIS and commune are unknown is not covered by an empty code
    unplaced = Aggregate("parcel", "38151000AB0001", "", "P1D", 1000.0, 12, 100.0)
    assert decide(grant(""), unplaced, rule=RULE, now=NOW) == refused
