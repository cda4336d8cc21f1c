"""Self-consumption of PV homes: what a home produced and used itself, per local day.

What the data gives (docs/upstreams): Data Connect's production endpoints give the
energy a producing PRM INJECTED into the grid (its export); its consumption
endpoints give what it DREW (its import); a Flukso PV sensor measures the panels'
GROSS production. So, for one delivery point and one local Europe/Paris day
(23/24/25 h), and only where BOTH are measured:

    self-consumed = gross production (devices) - injection (the point's own series)

Where only one side is known nothing is guessed: the day says which side is
missing. A day where the sensor saw less than the meter injected (a sensor that
dropped out part of the day, or two clocks that disagree) is not a self-consumption
of zero: it is left out and said so (``disagree``).

Residents: :func:`compose` over the point's own production series and the
production devices the person may read (every read through the meter gate).

Cities: :data:`CITY_DAYS` reads the aggregator's per-point day rows
(``aggregator_meter_days``: per point and day, the settled series' slots 0-2 and
the devices' slot 3 are kept apart, although the rollups take one source), and
:func:`city_nodes` shapes them as the map's nodes (commune, its IRIS) with one
bucket per day: ``api.choropleth.totals`` then applies the very walk of the map
(threshold of distinct delivery points and dominance for every day, complementary
suppression between the commune and its IRIS every day, one withheld day
withholding the span). Per day and not per span, like the map: two spans one day
apart would otherwise give that day's figure by difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from api.choropleth import Node

BOTH = "both"
INJECTION_ONLY = "injection-only"
PRODUCTION_ONLY = "production-only"
DISAGREE = "disagree"


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of a PV home."""

    day: date
    production_wh: float | None  # gross, from the devices
    injection_wh: float | None  # exported, from the point's own series
    self_consumed_wh: float | None
    state: str  # BOTH, INJECTION_ONLY, PRODUCTION_ONLY, DISAGREE


def compose(gross: dict[date, float], injection: dict[date, float]) -> list[Day]:
    """Per local day, in order: self-consumption where both sides are measured."""
    out = []
    for day in sorted(gross.keys() | injection.keys()):
        g, i = gross.get(day), injection.get(day)
        if g is None:
            out.append(Day(day, None, i, None, INJECTION_ONLY))
        elif i is None:
            out.append(Day(day, g, None, None, PRODUCTION_ONLY))
        elif g < i:
            out.append(Day(day, g, i, None, DISAGREE))
        else:
            out.append(Day(day, g, i, g - i, BOTH))
    return out


# Per point and local day of a commune's producers: the devices' gross production
# (slot 3, only ever a finer part) and the point's own settled injection (slots
# 0-2: its daily series wins over its curve, as in aggregator.rollups._terms).
# $1 commune, $2/$3 the span's first and last local midnights (day starts).
CITY_DAYS = """
WITH d AS (
    SELECT point_id, iris, day_start, sv3 AS gross, sn3 > 0 AS has_gross,
           CASE WHEN en0 + en1 + en2 > 0 THEN ev0 + ev1 + ev2
                ELSE sv0 + sv1 + sv2 END AS injection,
           en0 + en1 + en2 + sn0 + sn1 + sn2 > 0 AS has_injection
    FROM aggregator_meter_days
    WHERE commune_insee = $1 AND direction = 'production'
      AND energy = 'electricity' AND unit = 'Wh'
      AND day_start >= $2 AND day_start < $3
), k AS (
    SELECT *, has_gross AND has_injection AND gross >= injection AS ok FROM d
)
SELECT iris, extract(epoch FROM day_start)::bigint AS t,
       count(*) FILTER (WHERE ok)::int AS n,
       coalesce(sum(gross - injection) FILTER (WHERE ok), 0)::float8 AS v,
       coalesce(max(gross - injection) FILTER (WHERE ok), 0)::float8 AS mx,
       GROUPING(iris) = 1 AS whole
FROM k GROUP BY GROUPING SETS ((iris, day_start), (day_start))
"""
"""Per (IRIS, day) and per day over the whole commune: the points with both sides
(a day's rows are one per point: the count is of distinct delivery points), their
self-consumption summed, and the largest one point's (dominance)."""

CITY_COVERAGE = """
WITH p AS (
    SELECT point_id, iris,
           bool_or(sn3 > 0 AND en0 + en1 + en2 + sn0 + sn1 + sn2 > 0) AS both_sides,
           bool_or(en0 + en1 + en2 + sn0 + sn1 + sn2 > 0) AS injection,
           bool_or(sn3 > 0) AS gross
    FROM aggregator_meter_days
    WHERE commune_insee = $1 AND direction = 'production'
      AND energy = 'electricity' AND unit = 'Wh'
      AND day_start >= $2 AND day_start < $3 AND ($4::text IS NULL OR iris = $4)
    GROUP BY point_id, iris
)
SELECT count(*) FILTER (WHERE both_sides)::int AS both_sides,
       count(*) FILTER (WHERE injection AND NOT both_sides)::int AS injection_only,
       count(*) FILTER (WHERE gross AND NOT both_sides)::int AS production_only
FROM p
"""
"""How many producing points of the commune (or of one IRIS, $4) have both sides
measured on some day of the span, and how many only one side."""


def city_nodes(
    commune: str, iris_ids: list[str], rows: list[Any]
) -> dict[tuple[int, str], Node]:
    """The commune (level 0) and its IRIS (level 1) as the map's nodes, one bucket
    per day (``api.choropleth.Node``); days where no point has both sides are no
    bucket at all (nothing to publish or withhold)."""
    nodes: dict[tuple[int, str], Node] = {(0, commune): Node(0, commune, None)}
    for iris in iris_ids:
        nodes[1, iris] = Node(1, iris, commune)
    for r in rows:
        if r["n"] <= 0:
            continue
        key = (0, commune) if r["whole"] else (1, r["iris"])
        node = nodes.get(key)
        if node is None:  # a point placed in an IRIS outside the registry
            continue
        node.buckets[r["t"]] = (r["n"], r["v"], r["mx"])
        node.unit = "Wh"
    return nodes
