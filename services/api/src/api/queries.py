"""SQL of the api (constants) and keyword-only functions that run it.

Readings are grouped into local Paris days and months in SQL (``AT TIME ZONE
'Europe/Paris'`` on the interval *start*), so 23- and 25-hour days come out right.
Only energy interval series without a channel feed totals (per-phase channels
would double count).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

# What a person may read is defined once, in the database: ``meter_access(person,
# at)`` (migration 0005) gives each meter they may read with the window of readings
# they may see (their occupancy of its delivery point, while a *verified* consent is
# live). A share lends the grantee the owner's windows while the share and the
# owner's access last. Every query below that returns individual data joins
# through _WINDOWS ($P person, $M meter), so route code cannot forget the rule.
_WINDOWS = """WITH w AS (
    SELECT a.from_ts, a.until_ts FROM meter_access({person}, now()) a
    WHERE a.meter_id = {meter}
    UNION ALL
    SELECT a.from_ts, a.until_ts FROM api_meter_shares s
    CROSS JOIN LATERAL meter_access(s.owner_person_id, now()) a
    WHERE s.grantee_person_id = {person} AND s.meter_id = {meter}
      AND a.meter_id = s.meter_id AND s.starts_at <= now()
      AND s.expires_at > now() AND s.revoked_at IS NULL
)
"""
# A reading (alias {r}) is shown only if its whole interval lies in a window.
_INSIDE = (
    "EXISTS (SELECT 1 FROM w WHERE {r}.start_ts >= w.from_ts"
    " AND {r}.end_ts <= w.until_ts)"
)

MY_METERS = """
SELECT DISTINCT ON (m.meter_id) m.meter_id, m.scheme, m.energy, m.direction,
       m.building_id, b.iris, x.relation
FROM (
    SELECT meter_id, 'owner' AS relation, 0 AS rank FROM meter_access($1, now())
    UNION ALL
    SELECT s.meter_id, 'shared', 1 FROM api_meter_shares s
    CROSS JOIN LATERAL meter_access(s.owner_person_id, now()) a
    WHERE s.grantee_person_id = $1 AND a.meter_id = s.meter_id
      AND s.starts_at <= now() AND s.expires_at > now() AND s.revoked_at IS NULL
) x
JOIN meters m USING (meter_id)
LEFT JOIN buildings b USING (building_id)
ORDER BY m.meter_id, x.rank
"""

# One meter, if the person may read it (the same rule as MY_METERS), with the
# series ids of its energy intervals in one direction ($3; NULL: the meter's own).
# One round trip instead of listing every meter of the person and then looking the
# series up.
_METER_FOR = """{w}
SELECT m.meter_id, m.scheme, m.energy, m.direction, m.building_id, b.iris,
       coalesce((SELECT array_agg(s.series_id ORDER BY s.series_id) FROM series s
                 WHERE s.meter_id = m.meter_id AND s.kind = 'interval'
                   AND s.dimension = 'energy' AND s.channel = '' AND s.period = ''
                   AND s.direction = coalesce($3, m.direction)), '{{}}') AS series,
       coalesce((SELECT array_agg(s.series_id ORDER BY s.series_id) FROM series s
                 WHERE s.meter_id = m.meter_id AND s.kind = 'interval'
                   AND s.dimension = 'energy' AND s.channel = ''
                   AND s.period = 'daily'
                   AND s.direction = coalesce($3, m.direction)), '{{}}') AS daily_series
FROM meters m LEFT JOIN buildings b USING (building_id)
WHERE m.meter_id = $2 AND EXISTS (SELECT 1 FROM w)
"""

# ($5 person, $6 meter: the windows of the queries below, unless said otherwise.)
_LOAD_CURVE = """{w}
SELECT start_ts, end_ts, value, quality FROM readings r
WHERE series_id = ANY($1::bigint[]) AND start_ts >= $2 AND start_ts < $3
  AND {inside_r}
ORDER BY start_ts LIMIT $4
"""

# A day's total is the meter's DAILY series when it has one for that day (Enedis'
# daily value, from its indexes), else the sum of its curve; a month sums its days.
# ($1 curve series, $2 / $3 the [start, end) instants, $4 daily series.)
_DAYS = """
SELECT day AS period,
       coalesce(daily_wh, curve_wh) AS wh,
       CASE WHEN daily_wh IS NULL THEN curve_n ELSE daily_n END AS readings,
       CASE WHEN daily_wh IS NULL THEN curve_q ELSE daily_q END AS quality
FROM (
    SELECT (start_ts AT TIME ZONE 'Europe/Paris')::date AS day,
           sum(value) FILTER (WHERE series_id = ANY($4::bigint[])) AS daily_wh,
           count(*) FILTER (WHERE series_id = ANY($4::bigint[])) AS daily_n,
           min(quality) FILTER (WHERE series_id = ANY($4::bigint[])) AS daily_q,
           sum(value) FILTER (WHERE series_id = ANY($1::bigint[])) AS curve_wh,
           count(*) FILTER (WHERE series_id = ANY($1::bigint[])) AS curve_n,
           min(quality) FILTER (WHERE series_id = ANY($1::bigint[])) AS curve_q
    FROM readings r
    WHERE series_id = ANY($1::bigint[] || $4::bigint[])
      AND start_ts >= $2 AND start_ts < $3
      AND {inside_r}
    GROUP BY 1
) d
ORDER BY 1
"""
_DAILY = "{w}" + _DAYS
_MONTHLY = "".join((
    "{w}SELECT date_trunc('month', period)::date AS period, sum(wh) AS wh,"
    " sum(readings)::bigint AS readings, min(quality) AS quality FROM (",
    _DAYS,
    ") days GROUP BY 1 ORDER BY 1",
))  # fmt: skip

# ($4 person, $5 meter.)
_INTERVALS = """{w}
SELECT start_ts, value FROM readings r
WHERE series_id = ANY($1::bigint[]) AND start_ts >= $2 AND start_ts < $3
  AND {inside_r}
"""

# Days known only by their daily total ($1 curve, $4 daily series): priced whole.
_WHOLE_DAYS = """{w}
SELECT d.start_ts, d.value FROM readings d
WHERE d.series_id = ANY($4::bigint[]) AND d.start_ts >= $2 AND d.start_ts < $3
  AND {inside_d}
  AND NOT EXISTS (SELECT 1 FROM readings c
                  WHERE c.series_id = ANY($1::bigint[]) AND c.start_ts >= d.start_ts
                    AND c.start_ts < d.end_ts)
"""

# Peers are aggregated under the secrecy rule; the caller's own meter ($1) counts
# only within the caller's windows ($4 person), so a previous occupant's readings
# never reach what the caller sees, even inside a mean.
_SIMILAR = """{w}, me AS (
    SELECT b.iris, b.building_type, m.energy,
           width_bucket(b.surface_m2, ARRAY[50, 100, 150, 250]::float8[]) AS band
    FROM meters m JOIN buildings b USING (building_id) WHERE m.meter_id = $1
), peers AS (
    -- Delivery points only: a home's measuring devices (Flukso sensors) are not
    -- homes of their own, so they neither weigh in the mean nor count as homes.
    SELECT m.meter_id FROM meters m JOIN buildings b USING (building_id), me
    WHERE b.iris = me.iris AND b.building_type = me.building_type
      AND width_bucket(b.surface_m2, ARRAY[50, 100, 150, 250]::float8[]) = me.band
      AND m.energy = me.energy AND m.direction = 'consumption'
      AND m.scheme IN ('prm', 'pce')
), per_day AS (  -- a day's daily total wins over its curve, as for the resident
    SELECT s.meter_id,
           coalesce(sum(r.value) FILTER (WHERE s.period = 'daily'),
                    sum(r.value) FILTER (WHERE s.period = '')) AS wh
    FROM series s JOIN readings r USING (series_id)
    WHERE s.meter_id IN (SELECT meter_id FROM peers) AND s.kind = 'interval'
      AND s.dimension = 'energy' AND s.direction = 'consumption' AND s.channel = ''
      AND s.period IN ('', 'daily') AND r.start_ts >= $2 AND r.start_ts < $3
      AND (s.meter_id <> $1 OR {inside_r})
    GROUP BY s.meter_id, (r.start_ts AT TIME ZONE 'Europe/Paris')::date
), per_meter AS (
    SELECT meter_id, sum(wh) AS wh FROM per_day GROUP BY meter_id
)
SELECT count(*)::int AS homes, coalesce(sum(wh), 0) AS total_wh,
       coalesce(max(wh), 0) AS max_wh
FROM per_meter
"""


def _gated(template: str, person: str, meter: str) -> str:
    """A query template with the windows of ``person``/``meter`` (placeholders)."""
    return template.format(
        w=_WINDOWS.format(person=person, meter=meter),
        inside_r=_INSIDE.format(r="r"),
        inside_d=_INSIDE.format(r="d"),
    )


# Composed from the constants above only (no caller input reaches the SQL text).
METER_FOR = _gated(_METER_FOR, "$1", "$2")
LOAD_CURVE = _gated(_LOAD_CURVE, "$5", "$6")
DAILY = _gated(_DAILY, "$5", "$6")
MONTHLY = _gated(_MONTHLY, "$5", "$6")
INTERVALS = _gated(_INTERVALS, "$4", "$5")
WHOLE_DAYS = _gated(_WHOLE_DAYS, "$5", "$6")
SIMILAR = _gated(_SIMILAR, "$4", "$1")
# Gas days of a PCE ($1 meter, $2/$3 instants, $4 person): each ADICT day is one
# interval [06:00, 06:00) Paris, kept in kWh PCS (energy) and in m3 (volume);
# both of one day come out on one row, inside the person's windows only.
_GAS_DAYS = """{w}
SELECT r.start_ts, r.end_ts,
       sum(r.value) FILTER (WHERE s.dimension = 'energy') AS wh,
       sum(r.value) FILTER (WHERE s.dimension = 'volume') AS m3,
       min(r.quality) AS quality
FROM series s JOIN readings r USING (series_id)
WHERE s.meter_id = $1 AND s.kind = 'interval' AND s.channel = ''
  AND s.period IN ('', 'daily') AND s.direction = 'consumption'
  AND s.dimension IN ('energy', 'volume')
  AND r.start_ts >= $2 AND r.start_ts < $3 AND {inside_r}
GROUP BY r.start_ts, r.end_ts ORDER BY r.start_ts
"""
GAS_DAYS = _gated(_GAS_DAYS, "$4", "$1")

# One row per quality: a point whose bucket is partly raw and partly corrected sits
# in two rows, with part of its value in each (``device`` = real-time device data
# of points with no settled data there, ranked below every settled quality). Merged: value = sum; points = the
# largest count (a lower bound of the distinct points); largest point = the SUM of
# the rows' largest points (an upper bound of any one point's total; the max of the
# rows would understate a dominant point split across qualities).
_MERGED = """
    SELECT {lv} AS lv, scope_id = {path} AS me, bucket_start,
           max(bucket_end) AS bucket_end, sum(value) AS v, max(delivery_points) AS n, sum(max_point_value) AS mx,
           (ARRAY['device', 'estimated', 'raw', 'corrected'])[1 + coalesce(
                min({rank}) FILTER (WHERE delivery_points > 0), min({rank}))]
               AS quality,
           min(unit) AS unit
    FROM rollups
    WHERE scope = '{scope}' AND scope_id = ANY({ids}::text[]) AND bucket = $1
      AND energy = $2 AND direction = $3 AND bucket_start >= $4 AND bucket_start < $5
    GROUP BY scope_id, bucket_start"""  # in primary-key order: grouped without a sort
# The quality of a merged bucket is the lowest among rows that still hold a point
# (a row every point left, e.g. device data withdrawn by settled data, says nothing).
_RANK = (
    "CASE quality WHEN 'device' THEN 0 WHEN 'estimated' THEN 1 WHEN 'raw' THEN 2 "
    "ELSE 3 END"
)

# The primary secrecy rule in SQL ($6 min points, $7 max share or NULL): the same
# test as privacy.SecrecyRule.check (test_api_differencing checks that they agree).
PRIMARY_OK = (
    "({n} >= $6 AND ($7::float8 IS NULL OR {mx} <= 0"
    " OR ({v} > 0 AND {mx} / {v} <= $7) OR ({v} <= 0 AND $7 >= 1)))"
)

# A scope's buckets with what the complementary suppression needs, one row per
# bucket: for each level of its chain (0 = the commune, then the IRIS, parcel,
# building on the path) the figures of the node on the path (v{lv}, n{lv},
# mx{lv}) and, below the commune, what its parent's children weigh, split by the
# rule: passing (okn, okv) and failing (non, nomx). privacy.SecrecyRule.walk
# decides from that; the rare buckets where passing children must be withheld
# need the children one by one (CHILDREN).
#
# The rows are read per level with one primary-key range scan per id (UNION ALL,
# never an OR: the planner then scans the whole (bucket, bucket_start) index) and
# aggregated twice; no join between intermediate sets (their estimates are poor
# and a nested loop over two of them made a 5,000-bucket export take 20 s).
_CHAIN = """
WITH m AS ({merged}
), j AS (SELECT m.*, {ok} AS ok FROM m)
SELECT bucket_start, {columns}
FROM j GROUP BY bucket_start
HAVING bool_or({leaf})
ORDER BY bucket_start LIMIT $8"""

_NODE = """
       max(v) FILTER (WHERE {me}) AS v{lv}, max(n) FILTER (WHERE {me}) AS n{lv},
       max(mx) FILTER (WHERE {me}) AS mx{lv}"""

_KIDS = """
       coalesce(sum(n) FILTER (WHERE lv = {lv} AND ok), 0) AS okn{lv},
       coalesce(sum(v) FILTER (WHERE lv = {lv} AND ok), 0) AS okv{lv},
       coalesce(sum(n) FILTER (WHERE lv = {lv} AND NOT ok), 0) AS non{lv},
       coalesce(max(mx) FILTER (WHERE lv = {lv} AND NOT ok), 0) AS nomx{lv}"""

_LEAF = """
       max(bucket_end) FILTER (WHERE {me}) AS bucket_end,
       max(quality) FILTER (WHERE {me}) AS quality,
       max(unit) FILTER (WHERE {me}) AS unit"""

LEVELS = ("commune", "neighbourhood", "parcel", "building")


def _chain_sql(depth: int) -> str:
    """Parameters: $1 bucket, $2 energy, $3 direction, $4 start, $5 end, $6 min
    points, $7 max share, $8 limit, $9 the commune; then per level below it the
    ids of the children of the parent on the path, and the path node's id."""
    merged, columns = [], []
    for lv in range(depth + 1):
        scope = LEVELS[lv]
        ids = "ARRAY[$9]" if lv == 0 else "$" + str(8 + 2 * lv)
        path = "$9" if lv == 0 else "$" + str(9 + 2 * lv)
        me = "lv = " + str(lv) + " AND me"
        merged.append(
            _MERGED.format(scope=scope, ids=ids, lv=lv, path=path, rank=_RANK)
        )
        columns.append(_NODE.format(me=me, lv=lv))
        if lv:
            columns.append(_KIDS.format(lv=lv))
        if lv == depth:
            columns.append(_LEAF.format(me=me))
            leaf = me
    return _CHAIN.format(
        merged="\n    UNION ALL".join(merged),
        ok=PRIMARY_OK.format(n="n", v="v", mx="mx"),
        columns=",".join(columns),
        leaf=leaf,
    )


# Built once from the constants above (no caller input reaches the SQL text).
CHAIN = tuple(_chain_sql(depth) for depth in range(len(LEVELS)))

# The children of one parent, one by one, in the given buckets ($6).
CHILDREN = """
SELECT scope_id, bucket_start, sum(value) AS v, max(delivery_points) AS n,
       sum(max_point_value) AS mx
FROM rollups
WHERE scope = $1 AND scope_id = ANY($2::text[]) AND bucket = $3 AND energy = $4
  AND direction = $5 AND bucket_start = ANY($6::timestamptz[])
GROUP BY scope_id, bucket_start
"""

# The chain of a scope up to its commune: per level below the commune, the ids of
# the children of the parent on the path (siblings included) and the path id.
FAMILY = {
    "commune": "SELECT insee AS commune FROM communes WHERE insee = $1",
    "neighbourhood": """
SELECT n.commune_insee AS commune, n.iris,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = n.commune_insee) AS iris_ids
FROM neighbourhoods n WHERE n.iris = $1""",
    "parcel": """
SELECT n.commune_insee AS commune, n.iris, p.idu,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = n.commune_insee) AS iris_ids,
       (SELECT array_agg(x.idu) FROM parcels x WHERE x.iris = p.iris) AS parcel_ids
FROM parcels p JOIN neighbourhoods n ON n.iris = p.iris WHERE p.idu = $1""",
    "building": """
SELECT n.commune_insee AS commune, n.iris, p.idu, b.building_id,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = n.commune_insee) AS iris_ids,
       (SELECT array_agg(x.idu) FROM parcels x WHERE x.iris = p.iris) AS parcel_ids,
       (SELECT array_agg(x.building_id) FROM buildings x
        WHERE x.parcel_idu = b.parcel_idu) AS building_ids
FROM buildings b JOIN parcels p ON p.idu = b.parcel_idu
JOIN neighbourhoods n ON n.iris = p.iris WHERE b.building_id = $1""",
}
FAMILY_ARGS = {
    "commune": (),
    "neighbourhood": (("iris_ids", "iris"),),
    "parcel": (("iris_ids", "iris"), ("parcel_ids", "idu")),
    "building": (
        ("iris_ids", "iris"),
        ("parcel_ids", "idu"),
        ("building_ids", "building_id"),
    ),
}


NEIGHBOURHOODS = """
SELECT iris, name, commune_insee, capacity_kw, geometry FROM neighbourhoods
WHERE ($1::text IS NULL OR commune_insee = $1) ORDER BY iris LIMIT $2 OFFSET $3
"""
PARCELS = """
SELECT idu, iris, commune_insee, geometry FROM parcels
WHERE ($1::text IS NULL OR iris = $1) ORDER BY idu LIMIT $2 OFFSET $3
"""
BUILDINGS = """
SELECT building_id, address, parcel_idu, iris, surface_m2, building_type FROM buildings
WHERE ($1::text IS NULL OR iris = $1) ORDER BY building_id LIMIT $2 OFFSET $3
"""

# Registered DELIVERY POINTS of a neighbourhood per direction (a point is a
# producer when it or a device attached to it measures production, e.g. a PV
# sensor): they bound how many of its reporting points can be of each direction
# (privacy.SecrecyRule.check_load). Unattached devices are no point.
_REGISTRY = """
    SELECT count(DISTINCT coalesce(m.delivery_point_id, m.meter_id))
               FILTER (WHERE m.direction = 'consumption') AS consumers,
           count(DISTINCT coalesce(m.delivery_point_id, m.meter_id))
               FILTER (WHERE m.direction = 'production') AS producers,
           count(*) FILTER (WHERE m.scheme = 'flukso') > 0 AS live_measured
    FROM buildings b JOIN meters m USING (building_id) WHERE b.iris = {iris}
      AND (m.scheme IN ('prm', 'pce') OR m.delivery_point_id IS NOT NULL)
"""

# Electricity delivery points of a neighbourhood (PRMs; devices are not points):
# an alert's level, state and times leave publicly only for a neighbourhood with
# at least the threshold of them (the alert system's own credentials get all).
_POINTS = """
    SELECT count(*)::int AS points FROM buildings b JOIN meters m USING (building_id)
    WHERE b.iris = {iris} AND m.scheme = 'prm'
"""

# The latest sample of each neighbourhood: one backward index probe per IRIS on
# (iris, at), not a DISTINCT ON over the whole (ever-growing) sample history.
_LIVE_LOAD = """
SELECT n.iris, n.name, l.at, l.consumption_kw, l.production_kw, l.capacity_kw,
       l.meters_reporting, l.meters_stale, l.consumers_reporting,
       l.producers_reporting, r.consumers, r.producers, r.live_measured
FROM neighbourhoods n
CROSS JOIN LATERAL (
    SELECT * FROM neighbourhood_load x WHERE x.iris = n.iris ORDER BY x.at DESC LIMIT 1
) l
CROSS JOIN LATERAL ({registry}) r
WHERE ($1::text IS NULL OR n.commune_insee = $1) AND ($2::text IS NULL OR n.iris = $2)
ORDER BY n.iris
"""

# Alerts with what the secrecy gate needs for their peak: the fewest meters that
# reported and the most production seen while the alert lasted. The territory of a
# city key filters in SQL, so limit/offset page over what the caller may see.
_ALERTS = """
SELECT a.alert_id, a.iris, a.level, a.state, a.raised_at, a.updated_at,
       (SELECT max(e.level) FROM alert_events e WHERE e.alert_id = a.alert_id)
           AS peak_level,
       a.cleared_at, a.peak_load_kw, a.capacity_kw, s.fewest, s.most_production,
       s.fewest_consumers, s.fewest_producers,
       r.consumers, r.producers, p.points
FROM alerts a
CROSS JOIN LATERAL ({points}) p
LEFT JOIN LATERAL (
    SELECT min(l.meters_reporting) AS fewest,
           coalesce(max(l.production_kw), 0) AS most_production,
           -- per direction only when every sample of the alert says it
           CASE WHEN bool_and(l.consumers_reporting IS NOT NULL)
                THEN min(l.consumers_reporting) END AS fewest_consumers,
           CASE WHEN bool_and(l.producers_reporting IS NOT NULL)
                THEN min(l.producers_reporting) END AS fewest_producers
    FROM neighbourhood_load l
    WHERE l.iris = a.iris AND l.at >= a.raised_at
      AND l.at <= coalesce(a.cleared_at, a.updated_at)
) s ON true
CROSS JOIN LATERAL ({registry}) r
WHERE ($1::text IS NULL OR a.state = $1) AND ($2::text IS NULL OR a.iris = $2)
  AND ($5::text IS NULL OR left(a.iris, 5) = $5) AND ($6::text IS NULL OR a.iris = $6)
  AND ($7::int IS NULL OR p.points >= $7)
ORDER BY a.raised_at DESC, a.alert_id LIMIT $3 OFFSET $4
"""

# The sample an alert event was computed from (the detector writes the sample, then
# publishes the event stamped with the same instant).
_ALERT_SAMPLE = """
SELECT l.meters_reporting, coalesce(l.production_kw, 0) AS production_kw,
       l.consumers_reporting, l.producers_reporting,
       r.consumers, r.producers, p.points
FROM (SELECT $1::text AS iris) x
CROSS JOIN LATERAL ({points}) p
LEFT JOIN LATERAL (
    SELECT meters_reporting, production_kw, consumers_reporting,
           producers_reporting FROM neighbourhood_load
    WHERE iris = x.iris AND at <= $2 ORDER BY at DESC LIMIT 1
) l ON true
CROSS JOIN LATERAL ({registry}) r
"""

# Composed from the constants above only (no caller input reaches the SQL text).
LIVE_LOAD = _LIVE_LOAD.format(registry=_REGISTRY.format(iris="n.iris"))
ALERTS = _ALERTS.format(
    registry=_REGISTRY.format(iris="a.iris"), points=_POINTS.format(iris="a.iris")
)
ALERT_SAMPLE = _ALERT_SAMPLE.format(
    registry=_REGISTRY.format(iris="x.iris"), points=_POINTS.format(iris="x.iris")
)


async def my_meters(conn: asyncpg.Connection, *, person_id: uuid.UUID) -> list[Any]:
    """Meters the person owns under a live consent, or that were shared with them."""
    return list(await conn.fetch(MY_METERS, person_id))


async def meter_for(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    direction: str | None = None,
) -> Any:
    """The meter and its series if the person may read it, else None."""
    return await conn.fetchrow(METER_FOR, person_id, meter_id, direction)


async def load_curve(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    series: list[int],
    start: datetime,
    end: datetime,
    limit: int,
) -> list[Any]:
    """Raw intervals in [start, end) inside the person's windows, in order, at
    most ``limit``."""
    return list(
        await conn.fetch(LOAD_CURVE, series, start, end, limit, person_id, meter_id)
    )


async def totals(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    series: list[int],
    daily_series: list[int],
    start: datetime,
    end: datetime,
    per: str,
) -> list[Any]:
    """Wh per local day (``per='day'``) or month (``per='month'``); a day's daily
    total wins over the sum of its curve (never both); only readings inside the
    person's windows."""
    query = DAILY if per == "day" else MONTHLY
    return list(
        await conn.fetch(query, series, start, end, daily_series, person_id, meter_id)
    )


async def intervals(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    series: list[int],
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, float]]:
    """(start, Wh) pairs of the curve inside the person's windows, for pricing."""
    rows = await conn.fetch(INTERVALS, series, start, end, person_id, meter_id)
    return [(r["start_ts"], r["value"]) for r in rows]


async def whole_days(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    series: list[int],
    daily_series: list[int],
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, float]]:
    """(day start, Wh) of the days known only by their daily total."""
    rows = await conn.fetch(
        WHOLE_DAYS, series, start, end, daily_series, person_id, meter_id
    )
    return [(r["start_ts"], r["value"]) for r in rows]


async def similar_homes(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    start: datetime,
    end: datetime,
) -> Any:
    """Count, total and largest consumption of homes like this one (itself
    included, but only within the person's windows)."""
    return await conn.fetchrow(SIMILAR, meter_id, start, end, person_id)


async def family(
    conn: asyncpg.Connection, *, scope: str, scope_id: str
) -> dict[str, Any] | None:
    """The scope's chain up to its commune; None if the scope does not exist."""
    row = await conn.fetchrow(FAMILY[scope], scope_id)
    return None if row is None else dict(row)


def chain_args(scope: str, chain: dict[str, Any]) -> list[Any]:
    """$9 onwards of CHAIN[depth of scope]: the commune, then (children, path)."""
    args: list[Any] = [chain["commune"]]
    for ids, path in FAMILY_ARGS[scope]:
        args += [chain[ids], chain[path]]
    return args


def children_of(scope: str, chain: dict[str, Any], level: int) -> list[str]:
    """Ids of the children, at ``level`` of the scope's chain, of the parent above."""
    ids: list[str] = chain[FAMILY_ARGS[scope][level - 1][0]]
    return ids


async def rollups(
    conn: asyncpg.Connection,
    *,
    scope: str,
    chain: dict[str, Any],
    bucket: str,
    energy: str,
    direction: str,
    start: datetime,
    end: datetime,
    limit: int,
    min_points: int,
    max_share: float | None,
) -> list[Any]:
    """Buckets of one scope (quality rows merged) with its chain's figures."""
    return list(
        await conn.fetch(
            CHAIN[LEVELS.index(scope)],
            bucket,
            energy,
            direction,
            start,
            end,
            min_points,
            max_share,
            limit,
            *chain_args(scope, chain),
        )
    )


async def children(
    conn: asyncpg.Connection,
    *,
    scope: str,
    ids: list[str],
    bucket: str,
    energy: str,
    direction: str,
    starts: list[datetime],
) -> list[Any]:
    """The children one by one (merged across qualities) in some buckets."""
    return list(
        await conn.fetch(CHILDREN, scope, ids, bucket, energy, direction, starts)
    )


async def tariff_rows(conn: asyncpg.Connection, *, option: str, kva: int) -> list[Any]:
    """Every dated grid of an option and power."""
    return list(
        await conn.fetch(
            "SELECT * FROM api_tariffs WHERE option = $1 AND kva = $2", option, kva
        )
    )


async def contract_of(conn: asyncpg.Connection, *, meter_id: str) -> Any:
    """The meter's contract row, or None."""
    return await conn.fetchrow(
        "SELECT option, kva, offpeak FROM api_meter_contracts WHERE meter_id = $1",
        meter_id,
    )


async def tempo_colours(
    conn: asyncpg.Connection, *, first: date, last: date
) -> dict[date, str]:
    """Tempo colours of the days in [first, last]."""
    rows = await conn.fetch(
        "SELECT day, colour FROM api_tempo_days WHERE day BETWEEN $1 AND $2",
        first,
        last,
    )
    return {r["day"]: r["colour"] for r in rows}


async def gas_days(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    start: datetime,
    end: datetime,
) -> list[Any]:
    """The PCE's gas days starting in [start, end): kWh PCS and m3, gated."""
    return list(await conn.fetch(GAS_DAYS, meter_id, start, end, person_id))


async def gas_prices(conn: asyncpg.Connection, *, band: str) -> list[Any]:
    """Every dated benchmark gas price of a consumption band."""
    return list(
        await conn.fetch(
            "SELECT band, valid_from, valid_to, standing_eur_month, eur_per_kwh"
            " FROM api_gas_prices WHERE band = $1 ORDER BY valid_from",
            band,
        )
    )


async def co2_factors(conn: asyncpg.Connection, *, energy: str) -> list[Any]:
    """Every dated CO2 factor of an energy."""
    return list(
        await conn.fetch(
            "SELECT * FROM api_co2_factors WHERE energy = $1 ORDER BY valid_from",
            energy,
        )
    )


# Ingestion health: per source, series, newest reading and stale series (nothing
# ending after $1 now minus the series' own delay: $2 Enedis, $3 GRDF daily, $4 GRDF
# published, $5 the others). One index probe per series (readings by series and
# time), not a scan of the readings.
INGESTION_FRESHNESS = """
SELECT s.scheme, count(*)::int AS series, max(l.newest) AS newest,
       count(*) FILTER (WHERE l.newest IS NULL OR l.newest < $1::timestamptz - CASE
           WHEN s.scheme = 'prm' THEN $2::interval
           WHEN s.scheme = 'pce' AND s.channel = 'published' THEN $4::interval
           WHEN s.scheme = 'pce' THEN $3::interval
           ELSE $5::interval END)::int AS stale
FROM series s
LEFT JOIN LATERAL (
    SELECT r.end_ts AS newest FROM readings r
    WHERE r.series_id = s.series_id ORDER BY r.start_ts DESC LIMIT 1
) l ON true
GROUP BY s.scheme
"""

SGE_FILES = """
SELECT count(*) FILTER (WHERE outcome = 'done')::int AS files,
       count(*) FILTER (WHERE outcome = 'dead')::int AS dead,
       max(handled_at) AS newest
FROM sge_flux_files
"""

# A stopped cursor (no such stream for the PRM, consent gone) is not backlog: it is
# counted apart, or the demo's PRMs without production would show years "to do".
ENEDIS_BACKLOG = """
SELECT coalesce(sum(greatest(0, $1::date - c.fetched_until))
                FILTER (WHERE c.stopped_reason IS NULL), 0)::int AS backlog_days,
       (SELECT count(*) FROM enedis_holes WHERE resolved_at IS NULL)::int AS open_holes,
       count(*) FILTER (WHERE c.stopped_reason IS NOT NULL)::int AS stopped
FROM enedis_cursors c
"""


# SGE's backlog: sites registered and not yet enrolled (or withdrawn) by ingest-sge.
SGE_BACKLOG = """
SELECT count(*) FILTER (WHERE state IN ('requested', 'enrolling', 'failed',
                                        'withdrawing'))::int AS todo
FROM sge_sites
"""

# Federation peers (live ones): the newest aggregate each pushed to us and when it
# arrived; and whether our deliveries to its subscriptions are failing.
FEDERATION_PEERS = """
SELECT p.domain,
       (SELECT max(received_at) FROM federation_peer_rollups r
        WHERE r.peer_domain = p.domain) AS newest_received_at,
       (SELECT max(bucket_start) FROM federation_peer_rollups r
        WHERE r.peer_domain = p.domain) AS newest_bucket_start,
       (SELECT min(failing_since) FROM federation_subscriptions f
        WHERE f.peer_domain = p.domain AND f.expired_at IS NULL) AS failing_since
FROM federation_peers p WHERE p.revoked_at IS NULL
ORDER BY p.domain
"""

# Every service's dead letters (the aggregator stores the topic in dead_letters,
# reasons already scrubbed of meter ids): counts over 24 h and 7 days per service.
DEAD_LETTER_COUNTS = """
SELECT service,
       count(*) FILTER (WHERE occurred_at > $1)::int AS day,
       count(*)::int AS week,
       max(occurred_at) AS last_seen
FROM dead_letters WHERE occurred_at > $2
GROUP BY service
"""

# The newest reasons per service over the last 7 days ($1), at most $2 each.
DEAD_LETTER_REASONS = """
SELECT service, reason, error_type, count, first_seen, last_seen FROM (
    SELECT service, reason, error_type, count(*)::int AS count,
           min(occurred_at) AS first_seen, max(occurred_at) AS last_seen,
           row_number() OVER (PARTITION BY service
                              ORDER BY max(occurred_at) DESC, reason) AS rank
    FROM dead_letters WHERE occurred_at > $1
    GROUP BY service, reason, error_type
) r WHERE rank <= $2
ORDER BY service, last_seen DESC
"""

# Each collector's status rows of today (Paris day $1): calls summed over its
# processes, the rate of the rows still refreshed (updated after $2), caps and
# backlog of the newest row.
INGEST_STATUS = """
SELECT source,
       sum(calls_today)::int AS calls_today,
       coalesce(sum(rate_per_s) FILTER (WHERE updated_at > $2), 0) AS rate_per_s,
       (array_agg(cap_per_s ORDER BY updated_at DESC))[1] AS cap_per_s,
       (array_agg(cap_per_hour ORDER BY updated_at DESC))[1] AS cap_per_hour,
       (array_agg(cap_per_day ORDER BY updated_at DESC))[1] AS cap_per_day,
       (array_agg(backlog ORDER BY updated_at DESC))[1] AS backlog,
       (array_agg(backlog_unit ORDER BY updated_at DESC))[1] AS backlog_unit,
       sum(calls_last_hour) FILTER (WHERE updated_at > $2)::int AS calls_last_hour,
       max(updated_at) AS updated_at
FROM ingest_status WHERE day = $1
GROUP BY source
"""

# GRDF's quota is counted in PostgreSQL by every ingest-grdf process (its limiter):
# the authoritative use of the Paris day $1.
GRDF_QUOTA_USED = "SELECT used FROM grdf_quota WHERE day = $1"

# A portfolio: per meter of the caller (the MY_METERS rule: meter_access() of the
# caller, or of an owner who shares with them), a year against the year before,
# and the shape that betrays waste: mean power at night (01:00-05:00 local) and at
# weekends against the whole year's mean and weekdays. Only readings inside the
# access windows count (a previous occupant's year is not the caller's).
# The kWh come from each local day's total: the DAILY series' value when the day
# has one (Enedis' daily energy, GRDF's gas days: intervals of a day), else the
# sum of the day's curve, as on the resident's page; so the two years are known as
# soon as the daily history is in, long before the curves (24 months, asked week
# by week) arrive. The night and weekend shape needs power within the day: the
# half-hours of the curve only (null until they arrive).
PORTFOLIO = """
WITH w AS (
    SELECT a.meter_id, a.from_ts, a.until_ts FROM meter_access($1, now()) a
    UNION ALL
    SELECT a.meter_id, a.from_ts, a.until_ts FROM api_meter_shares sh
    CROSS JOIN LATERAL meter_access(sh.owner_person_id, now()) a
    WHERE sh.grantee_person_id = $1 AND a.meter_id = sh.meter_id
      AND sh.starts_at <= now() AND sh.expires_at > now() AND sh.revoked_at IS NULL
), s AS (
    SELECT series_id, meter_id, period FROM series
    WHERE meter_id IN (SELECT meter_id FROM w) AND direction = 'consumption'
      AND kind = 'interval' AND dimension = 'energy' AND channel = ''
      AND period IN ('', 'daily')
), r AS (
    SELECT s.meter_id, r.value, r.start_ts,
           (s.period = 'daily' OR r.end_ts - r.start_ts >= interval '23 hours')
               AS whole_day,
           r.end_ts - r.start_ts = interval '30 minutes' AS half_hour,
           r.value / 1000.0 / (extract(epoch FROM r.end_ts - r.start_ts) / 3600.0) AS kw,
           (r.start_ts >= $2::timestamptz - interval '365 days') AS recent,
           (r.start_ts AT TIME ZONE 'Europe/Paris') AS local
    FROM readings r JOIN s USING (series_id)
    WHERE r.start_ts >= $2::timestamptz - interval '730 days' AND r.start_ts < $2
      AND EXISTS (SELECT 1 FROM w WHERE w.meter_id = s.meter_id
                  AND r.start_ts >= w.from_ts AND r.end_ts <= w.until_ts)
), days AS (  -- a day's daily total wins over its curve, never both
    SELECT meter_id, local::date AS day, recent,
           coalesce(sum(value) FILTER (WHERE whole_day),
                    sum(value) FILTER (WHERE half_hour)) AS wh
    FROM r GROUP BY meter_id, local::date, recent
), years AS (
    SELECT meter_id,
           sum(wh) FILTER (WHERE recent) / 1000.0 AS kwh,
           sum(wh) FILTER (WHERE NOT recent) / 1000.0 AS kwh_prev,
           count(DISTINCT day) FILTER (WHERE recent AND wh IS NOT NULL)::int AS days,
           count(DISTINCT day) FILTER (WHERE NOT recent AND wh IS NOT NULL)::int
               AS days_prev
    FROM days GROUP BY meter_id
), shape AS (
    SELECT meter_id,
           avg(kw) AS mean_kw,
           avg(kw) FILTER (WHERE extract(hour FROM local) BETWEEN 1 AND 4) AS night_kw,
           avg(kw) FILTER (WHERE extract(isodow FROM local) >= 6) AS weekend_kw,
           avg(kw) FILTER (WHERE extract(isodow FROM local) < 6) AS weekday_kw
    FROM r WHERE recent AND half_hour AND NOT whole_day
    GROUP BY meter_id
)
SELECT y.*, sh.mean_kw, sh.night_kw, sh.weekend_kw, sh.weekday_kw
FROM years y LEFT JOIN shape sh USING (meter_id)
"""

PORTFOLIO_SITES = """
SELECT m.meter_id, m.sector, b.building_id, b.address, b.surface_m2, b.building_type
FROM meters m LEFT JOIN buildings b USING (building_id)
WHERE m.meter_id = ANY($1::text[])
"""
