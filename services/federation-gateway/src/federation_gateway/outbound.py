"""What a peer receives for one URN: rows filtered by :func:`egress.decide`, then
SenML. Shared by the pull route and the push loop so both send the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from energy_core.privacy import SecrecyRule
from federation_gateway.egress import PeerGrant, decide
from federation_gateway.mapping import AggregateUrn, Point, to_senml
from federation_gateway.repository import AggregateRow


def aggregate_records(
    grant: PeerGrant,
    urn: AggregateUrn,
    rows: list[AggregateRow],
    *,
    rule: SecrecyRule,
    now: datetime,
) -> tuple[list[dict[str, Any]], int]:
    """(SenML records of the rows that may leave, how many were withheld)."""
    points: list[Point] = []
    unit = ""
    withheld = 0
    for r in rows:
        item = r.egress_item(urn)
        if decide(grant, item, rule=rule, now=now).allowed:
            share = r.max_point_value / r.value if r.value > 0 else 0.0
            points.append(Point(r.start, r.value, r.delivery_points, share))
            unit = r.unit
        else:
            withheld += 1
    return to_senml(str(urn), unit, points), withheld
