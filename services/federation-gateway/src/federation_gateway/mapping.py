"""SenML JSON records (RFC 8428) with Quoalise-compatible series URNs. Pure.

- An individual series keeps SEN1's own series URN (``urn:dev:prm:<PRM>_<path>``,
  the Quoalise grammar).
- An aggregate is named ``urn:sen1:<level>:<territory id>_<direction>/energy/active/<bucket>``
  (level ``iris``, ``parcel``, ``commune``, ``building``; bucket an ISO 8601
  duration ``PT30M``, ``PT1H``, ``P1D``, ``P1M``). Quoalise has no convention for
  aggregates: this is a SEN1 extension, labelled ``urn:sen1:``. Its records carry
  two extra labels, ``sen1_points`` (distinct delivery points) and ``sen1_max_share``
  (the largest point's share of the total), so the receiver can see the secrecy
  rule held.

Values covering a period are stamped at the period's start (Quoalise's choice);
the first record carries ``bn``, ``bt`` (epoch seconds, UTC) and ``bu``, later
records ``t`` relative to ``bt``; holes are left out, never ``null``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LEVEL_OF_SCOPE = {
    "neighbourhood": "iris",
    "parcel": "parcel",
    "commune": "commune",
    "building": "building",
}
SCOPE_OF_LEVEL = {v: k for k, v in LEVEL_OF_SCOPE.items()}
BUCKETS = ("PT30M", "PT1H", "P1D", "P1M")

_AGGREGATE = re.compile(
    r"^urn:sen1:(?P<level>iris|parcel|commune|building):(?P<id>[A-Za-z0-9.-]{1,64})"
    r"_(?P<direction>consumption|production)/energy/active/(?P<bucket>PT30M|PT1H|P1D|P1M)$"
)
_INDIVIDUAL = re.compile(r"^urn:dev:prm:(?P<prm>\d{14})_(?P<path>[a-z0-9/_-]{1,80})$")


_ALERTS = re.compile(r"^urn:sen1:iris:(?P<iris>(\d{2}|2A|2B)\d{7})_alerts$")


@dataclass(frozen=True, slots=True)
class AlertUrn:
    """``urn:sen1:iris:<IRIS>_alerts``: the congestion alerts of one neighbourhood
    (a SEN1 extension, pushed to subscribers; never pulled)."""

    iris: str

    def __str__(self) -> str:
        return f"urn:sen1:iris:{self.iris}_alerts"


def parse_alert_urn(urn: str) -> AlertUrn | None:
    """The alert URN, or None when ``urn`` is not one."""
    m = _ALERTS.match(urn)
    return AlertUrn(m["iris"]) if m else None


class UrnError(ValueError):
    """A URN this gateway does not serve (message safe to return)."""


@dataclass(frozen=True, slots=True)
class AggregateUrn:
    scope: str
    """The rollups scope (``neighbourhood`` for an IRIS)."""
    territory: str
    direction: str
    bucket: str

    def __str__(self) -> str:
        level = LEVEL_OF_SCOPE[self.scope]
        return (
            f"urn:sen1:{level}:{self.territory}_{self.direction}"
            f"/energy/active/{self.bucket}"
        )


@dataclass(frozen=True, slots=True)
class IndividualUrn:
    meter_id: str
    urn: str

    def __str__(self) -> str:
        return self.urn


def parse_urn(urn: str) -> AggregateUrn | IndividualUrn:
    """Reads a URN asked for by a peer; raises :class:`UrnError`."""
    m = _AGGREGATE.match(urn)
    if m:
        return AggregateUrn(
            SCOPE_OF_LEVEL[m["level"]], m["id"], m["direction"], m["bucket"]
        )
    m = _INDIVIDUAL.match(urn)
    if m:
        return IndividualUrn(m["prm"], urn)
    raise UrnError("unknown series URN")


@dataclass(frozen=True, slots=True)
class Point:
    """One value over a period starting at ``start`` (aware)."""

    start: datetime
    value: float
    points: int | None = None
    max_share: float | None = None


def to_senml(name: str, unit: str, values: list[Point]) -> list[dict[str, Any]]:
    """SenML JSON records of one series (empty list for no values)."""
    records: list[dict[str, Any]] = []
    if not values:
        return records
    ordered = sorted(values, key=lambda p: p.start)
    base = int(ordered[0].start.timestamp())
    for i, p in enumerate(ordered):
        rec: dict[str, Any] = {"t": int(p.start.timestamp()) - base, "v": p.value}
        if i == 0:
            rec = {"bn": name, "bt": base, "bu": unit, **rec}
        if p.points is not None:
            rec["sen1_points"] = p.points
        if p.max_share is not None:
            rec["sen1_max_share"] = round(p.max_share, 4)
        records.append(rec)
    return records


@dataclass(frozen=True, slots=True)
class Received:
    """One record read from a peer's SenML."""

    urn: str
    start: datetime
    value: float
    unit: str
    points: int | None
    max_share: float | None


def from_senml(records: list[dict[str, Any]]) -> list[Received]:
    """Resolves base values (RFC 8428 §4.6); raises ValueError on a bad record."""
    out: list[Received] = []
    bn, bt, bu = "", 0.0, ""
    for rec in records:
        if not isinstance(rec, dict):
            raise ValueError("a SenML record is an object")
        bn = str(rec.get("bn", bn))
        bt = float(rec.get("bt", bt))
        bu = str(rec.get("bu", bu))
        if "v" not in rec or not isinstance(rec["v"], int | float):
            raise ValueError("a record without a numeric v")
        name = bn + str(rec.get("n", ""))
        if name.startswith("urn:sen1:"):
            parse_urn(name)  # an aggregate URN must be one we understand
        points = rec.get("sen1_points")
        share = rec.get("sen1_max_share")
        out.append(
            Received(
                urn=name,
                start=datetime.fromtimestamp(bt + float(rec.get("t", 0)), UTC),
                value=float(rec["v"]),
                unit=bu,
                points=int(points) if points is not None else None,
                max_share=float(share) if share is not None else None,
            )
        )
    return out
