"""The city map in one read: every IRIS, parcel or building of a commune with its
total over a period, behind the same secrecy gate as ``/v1/rollups``.

The map used to ask ``/v1/rollups/{scope}/{id}`` once per feature (92 parcels,
15 IRIS: over a hundred calls per period). Here one query reads the merged rows
(qualities merged as in ``queries._MERGED``) of every level from the commune
down to the asked one, and the complementary suppression is run for all
features at once, top-down, with the very functions the per-scope route uses
(``rest_is_safe``, ``withheld``). ``test_api_choropleth`` checks on random
territories that every feature says exactly what the per-scope route says.

A feature's total is the sum of its published buckets; one withheld bucket
withholds the whole feature (a partial sum would look like a low value), with
the reason of its first withheld bucket. A sum of published buckets tells
nothing that the per-bucket route does not already publish.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from api.privacy import (
    Children,
    Figures,
    SecrecyRule,
    rest_is_safe,
    withheld,
    withheld_in_time,
)
from energy_core.domain.time import (
    PARIS,
    local_midnight,
    month_start,
    next_month_start,
)

LEVELS = ("commune", "neighbourhood", "parcel", "building")
PARENT_NAME = {
    "neighbourhood": "commune",
    "parcel": "neighbourhood",
    "building": "parcel",
}
WITHHELD = (
    "withheld so that no group under the threshold can be derived by difference "
    "with its {parent}"
)
WITHHELD_IN_TIME = (
    "withheld so that no bucket under the threshold can be derived by difference "
    "with its enclosing month"
)

# One range scan of the primary key per level and segment (scope, scope_id = ANY,
# bucket, bucket_start range), never an OR between levels or buckets; qualities
# merged like queries._MERGED: value summed, points = the largest count, largest
# point = the sum of the rows' largest points. Each node then comes back as ONE
# row of arrays, element i of each array from the same (scope_id, bucket_start)
# row (every aggregate of a group is fed the same rows in the same order; no
# ORDER BY: four sorts per node cost more than the scan), bucket starts in epoch
# seconds; the walk sorts them itself. A year of a commune's
# parcels with its edge days is ~17,000 (node, bucket) pairs, and decoding them as
# arrays instead of records (and keeping them as plain tuples, not Figures) is
# what keeps a span of whole days as fast as a span of whole months.
_LEVEL_ROWS = """
SELECT {lv} AS lv, scope_id, array_agg(extract(epoch FROM bucket_start)::bigint) AS ts,
       array_agg(n) AS ns, array_agg(v) AS vs, array_agg(mx) AS mxs, min(unit) AS unit
FROM (SELECT scope_id, bucket_start, sum(value) AS v, max(delivery_points) AS n,
             sum(max_point_value) AS mx, min(unit) AS unit
      FROM rollups
      WHERE scope = '{scope}' AND scope_id = ANY(${ids}::text[]) AND bucket = ${b}
        AND energy = $1 AND direction = $2
        AND bucket_start >= ${a} AND bucket_start < ${z}
      GROUP BY scope_id, bucket_start) m
GROUP BY scope_id"""


def rows_sql(depth: int, segments: int = 1) -> str:
    """ONE statement for every level down to ``depth`` and every segment of the
    plan. Parameters: $1 energy, $2 direction, then the ids of each level from
    the commune ($3) down to ``depth``, then (bucket, start, end) per segment."""
    first = 3 + depth + 1
    return "\nUNION ALL".join(
        _LEVEL_ROWS.format(
            lv=lv,
            scope=LEVELS[lv],
            ids=3 + lv,
            b=first + 3 * k,
            a=first + 3 * k + 1,
            z=first + 3 * k + 2,
        )
        for k in range(segments)
        for lv in range(depth + 1)
    )


ROWS = {(d, k): rows_sql(d, k) for d in range(len(LEVELS)) for k in (1, 2, 3)}
"""The statement per (depth, number of segments): a plan has one to three."""

TERRITORY = {
    "neighbourhood": """
SELECT iris AS id, iris, NULL::text AS idu, name,
       CASE WHEN $2 THEN geometry END AS geometry,
       NULL::text AS building_type, NULL::float8 AS surface_m2
FROM neighbourhoods WHERE commune_insee = $1 ORDER BY iris""",
    "parcel": """
SELECT idu AS id, iris, idu, idu AS name, CASE WHEN $2 THEN geometry END AS geometry,
       NULL::text AS building_type, NULL::float8 AS surface_m2
FROM parcels WHERE commune_insee = $1 ORDER BY idu""",
    "building": """
SELECT b.building_id AS id, b.iris, b.parcel_idu AS idu, b.address AS name,
       CASE WHEN $2 THEN NULL::jsonb END AS geometry, b.building_type, b.surface_m2
FROM buildings b JOIN parcels p ON p.idu = b.parcel_idu
WHERE p.commune_insee = $1 ORDER BY b.building_id""",
}
"""The features of a level; ``$2`` false leaves the shapes in the database (a
page that has them asks for values only: 400 parcels' polygons are most of the
bytes and of the decoding)."""


def plan(start: date, end: date) -> list[tuple[str, date, date]]:
    """The fewest stored buckets that tile [start, end): whole months as P1M, the
    days before the first and after the last whole month as P1D. Each bucket is
    judged by the rule on its own, as ``/v1/rollups`` judges it, so a total over
    a mix of sizes publishes nothing that route does not."""
    first = start if start.day == 1 else next_month_start(start)
    last = end.replace(day=1)
    if first >= last:  # no whole month inside
        return [("P1D", start, end)]
    out = []
    if start < first:
        out.append(("P1D", start, first))
    out.append(("P1M", first, last))
    if last < end:
        out.append(("P1D", last, end))
    return out


Fig = tuple[int, float, float]
"""(delivery points, value, largest point) of a node in one bucket: a plain tuple,
not :class:`Figures` (built only where the complementary rule needs one)."""


@dataclass(slots=True)
class Node:
    """One feature (or one of its ancestors): its parent and its merged rows,
    keyed by bucket start in epoch seconds (cheaper to decode and hash than
    datetimes, and in the same order)."""

    level: int
    node_id: str
    parent: str | None
    buckets: dict[int, Fig] = field(default_factory=dict)
    unit: str | None = None
    passes: dict[int, bool] = field(default_factory=dict)
    held: set[int] = field(default_factory=set)
    """Buckets the walk withholds although the primary rule passes (complementary
    suppression, or no parent row)."""
    broken: set[int] = field(default_factory=set)
    """Buckets where the node or an ancestor has no row: withheld down the tree."""

    def published(self, t: int) -> bool:
        return t in self.buckets and self.passes[t] and t not in self.held


@dataclass(frozen=True, slots=True)
class Total:
    """What the map shows of one feature over the period."""

    state: str  # published, suppressed, empty
    value: float | None
    unit: str | None
    delivery_points: int | None
    buckets: int
    reason: str | None


def _passes(rule: SecrecyRule, points: int, value: float, top: float) -> bool:
    """``rule.check(...).published`` without building a Verdict (called once per
    node and bucket: 17,000 times for a year of a commune's parcels);
    ``test_api_choropleth_plan`` checks that both agree."""
    if points < rule.min_points:
        return False
    if rule.max_share is not None and top > 0:
        share = top / value if value > 0 else 1.0
        return share <= rule.max_share
    return True


def verdicts(rule: SecrecyRule, nodes: dict[tuple[int, str], Node], depth: int) -> None:
    """Published or not, per node and bucket: the walk of ``routes.rollups._walk``
    run for every node of every level at once (top-down from the commune). Sets
    each node's ``passes`` (the primary rule) and ``held`` (see :class:`Node`)."""
    for n in nodes.values():  # the primary rule, once per node and bucket
        n.passes = {t: _passes(rule, *f) for t, f in n.buckets.items()}
        n.held = set()
        n.broken = set()
    groups: list[list[tuple[Node, list[Node]]]] = [[] for _ in range(depth + 1)]
    kids_of: dict[tuple[int, str], list[Node]] = defaultdict(list)
    for n in nodes.values():
        if n.level and n.parent is not None:
            kids_of[n.level - 1, n.parent].append(n)
    for (plv, pid), kids in kids_of.items():
        if plv < depth:
            groups[plv + 1].append((nodes[plv, pid], kids))
    starts = sorted({t for n in nodes.values() for t in n.buckets})
    for t in starts:
        for lv in range(1, depth + 1):
            for up, kids in groups[lv]:
                parent = up.buckets.get(t)
                if parent is None or t in up.broken:
                    for k in kids:  # a node without its parent's row: withheld
                        k.held.add(t)
                        k.broken.add(t)
                    continue
                ok_points, ok_value, bad_points, bad_max = 0, 0.0, 0, 0.0
                passing: list[tuple[str, Fig]] = []
                for k in kids:
                    f = k.buckets.get(t)
                    if f is None:
                        continue
                    if k.passes[t]:
                        ok_points += f[0]
                        ok_value += f[1]
                        passing.append((k.node_id, f))
                    else:
                        bad_points += f[0]
                        bad_max = max(bad_max, f[2])
                summary = Children(ok_points, ok_value, bad_points, bad_max)
                up_fig = Figures(*parent)
                up_published = up.passes[t] and t not in up.held
                if rest_is_safe(rule, up_fig, up_published, summary):
                    continue
                hold = withheld(
                    rule,
                    up_fig,
                    up_published,
                    summary,
                    [(i, Figures(*f)) for i, f in passing],
                )
                for k in kids:
                    if k.node_id in hold:
                        k.held.add(t)


def months_around(start: date, end: date) -> tuple[datetime, datetime]:
    """The whole local months that enclose the days [start, end)."""
    return (
        local_midnight(month_start(start)),
        local_midnight(next_month_start(end - timedelta(days=1))),
    )


def held_in_time(
    rule: SecrecyRule,
    months: dict[tuple[int, str], Node],
    days: dict[tuple[int, str], Node],
    depth: int,
) -> dict[str, set[int]]:
    """Per feature, the days (epoch starts) withheld across bucket sizes.

    ``/v1/rollups`` publishes a month and its days, so a day withheld inside a
    published month comes back as the month minus its published days; the map's
    edge days face the same time pass as that route's (privacy.withheld_in_time
    over ALL the days of each enclosing month, read whole). ``months`` holds the
    P1M rows of those months, ``days`` their P1D rows, each with the ancestors
    that their spatial verdicts need, both already walked by :func:`verdicts`.
    """
    # Both node sets must have been through verdicts() (the map walks its own
    # nodes, the edge days' whole months included, once).
    out: dict[str, set[int]] = {}
    for (lv, fid), m in months.items():
        d = days.get((lv, fid))
        if lv != depth or d is None:
            continue
        starts = sorted(d.buckets)
        for t in m.buckets:
            first = datetime.fromtimestamp(t, PARIS).date()
            end = int(local_midnight(next_month_start(first)).timestamp())
            kids = [k for k in starts if t <= k < end]
            hold = withheld_in_time(
                rule,
                Figures(*m.buckets[t]),
                m.published(t),
                [(str(k), Figures(*d.buckets[k]), d.published(k)) for k in kids],
            )
            out.setdefault(fid, set()).update(int(k) for k in hold)
    return out


def totals(
    rule: SecrecyRule,
    nodes: dict[tuple[int, str], Node],
    depth: int,
    wanted: list[str],
    in_time: dict[str, set[int]] | None = None,
    span: tuple[int, int] | None = None,
    walked: bool = False,
) -> dict[str, Total]:
    """Each wanted feature's total over its buckets (see the module's docstring);
    ``in_time``: buckets withheld across bucket sizes (:func:`held_in_time`);
    ``span``: only the buckets starting in [a, z) (epoch seconds) count, the
    others were read for the time pass; ``walked``: :func:`verdicts` already ran."""
    if not walked:
        verdicts(rule, nodes, depth)
    parent_name = PARENT_NAME.get(LEVELS[depth], "")
    out: dict[str, Total] = {}
    for fid in wanted:
        node = nodes.get((depth, fid))
        inside = sorted(node.buckets) if node is not None else []
        if span is not None:
            inside = [t for t in inside if span[0] <= t < span[1]]
        if node is None or not inside:
            out[fid] = Total("empty", None, None, None, 0, None)
            continue
        reason = None
        value, points = 0.0, 0
        for t in inside:
            n, v, mx = node.buckets[t]
            if not node.passes[t]:
                reason = rule.check(
                    delivery_points=n, value=v, max_point_value=mx
                ).reason
                break
            if t in node.held:
                reason = WITHHELD.format(parent=parent_name)
                break
            if in_time is not None and t in in_time.get(fid, ()):
                reason = WITHHELD_IN_TIME
                break
            value += v
            points = max(points, n)
        if reason is not None:
            out[fid] = Total("suppressed", None, node.unit, None, 0, reason)
        else:
            out[fid] = Total("published", value, node.unit, points, len(inside), None)
    return out


async def load(
    conn: asyncpg.Connection,
    *,
    commune: str,
    level: str,
    segments: list[tuple[str, datetime, datetime]],
    energy: str,
    direction: str,
    iris: str | None = None,
    parcel: str | None = None,
    geometry: bool = True,
) -> tuple[list[Any], dict[tuple[int, str], Node]]:
    """The commune's features of ``level`` and every node from the commune down
    that their verdicts depend on, with their merged rows in each (bucket, start,
    end) segment. ``iris`` / ``parcel`` narrow the levels below them to the
    siblings on the way (a parcel's verdict needs its IRIS' parcels, not the
    commune's), which is what keeps one parcel's buildings cheap."""
    depth = LEVELS.index(level)
    hoods = await conn.fetch(
        "SELECT iris FROM neighbourhoods WHERE commune_insee = $1", commune
    )
    nodes: dict[tuple[int, str], Node] = {(0, commune): Node(0, commune, None)}
    for h in hoods:
        nodes[1, h["iris"]] = Node(1, h["iris"], commune)
    if parcel is not None:
        iris = await conn.fetchval("SELECT iris FROM parcels WHERE idu = $1", parcel)
        if iris is None:
            return [], nodes
    if depth >= 2:
        for p in await conn.fetch(
            """SELECT idu, iris FROM parcels
               WHERE commune_insee = $1 AND ($2::text IS NULL OR iris = $2)""",
            commune,
            iris,
        ):
            nodes[2, p["idu"]] = Node(2, p["idu"], p["iris"])
    if depth >= 3:
        for b in await conn.fetch(
            """SELECT b.building_id, b.parcel_idu FROM buildings b
               JOIN parcels p ON p.idu = b.parcel_idu
               WHERE p.commune_insee = $1 AND ($2::text IS NULL OR p.iris = $2)
                 AND ($3::text IS NULL OR p.idu = $3)""",
            commune,
            iris,
            parcel,
        ):
            nodes[3, b["building_id"]] = Node(3, b["building_id"], b["parcel_idu"])
    ids = [[k[1] for k in nodes if k[0] == lv] for lv in range(depth + 1)]
    params = [x for seg in segments for x in seg]
    for r in await conn.fetch(
        ROWS[depth, len(segments)], energy, direction, *ids, *params
    ):
        node = nodes.get((r[0], r[1]))
        if node is None:  # pragma: no cover - the ids come from the registry
            continue
        # lv, scope_id, ts, ns, vs, mxs, unit (positional: 17,000 pairs a year)
        node.buckets.update(zip(r[2], zip(r[3], r[4], r[5], strict=True), strict=True))
        node.unit = r[6]
    features = [
        f
        for f in await conn.fetch(TERRITORY[level], commune, geometry)
        if (iris is None or f["iris"] == iris)
        and (parcel is None or f["idu"] == parcel)
    ]
    return features, nodes
