"""SQL of the write path: stored changes -> per-point bucket deltas -> scope rollups.

Everything runs set-wise in the caller's transaction, after the reading store left
the changed readings (new and previous value, quality and end) in its
``sen1_changes`` table. Only INTERVAL energy/volume series without a channel are
rolled up (per-phase channels would count a three-phase home twice).

The unit of every sum and count is the DELIVERY POINT (PRM, PCE), not the meter:
``agg_meters`` (copied from the in-memory territory) maps each meter to the point
it counts for; a measuring device's readings (a Flukso sensor) feed its point in
the quality slot 3 (:data:`DEVICE`, rollup quality ``device``), and per point and
bucket settled data takes precedence over device data (the device slot counts
only where the point has no settled reading).

1. :data:`SIDES`: both sides of every change, once: the new reading (+value, +1)
   and, when it replaced one, the previous reading (-value, -1) with its own
   quality and end (``agg_sides``), keyed by point.
2. Per level, each point's change per bucket and quality: ``dv`` (value gained),
   ``dp`` (+1 / -1 when the point enters / leaves the bucket: the delivery-point
   count), ``now_v`` (its total now) and ``dropped`` (it went down):
   * ``P1D`` first, from per-point rows in ``aggregator_meter_days`` (migrations
     ``1001_aggregator``, ``1101_aggregator_delivery_points``): a point's DAILY
     series wins over its finer data for a day, so a daily total and a load curve
     are never added together, and its settled data over its devices'. A new row
     takes the point's current placement and keeps it: every later change of that
     day goes to the same rollups. The touched days' placements are kept in
     ``agg_days``. Writing the row locks it: it serialises two workers touching
     one point.
   * ``PT30M`` and ``PT1H``, points without devices: changes grouped per series
     and bucket. When the new readings cover the whole bucket (a day of
     half-hours, the usual case) its content is known; otherwise the readings now
     stored in it are read back (index range scan) and the previous state is
     ``now - delta``. Points with devices: :data:`SHARED` / :data:`SHARED_SCOPE`
     read the whole point back (its series and its devices') and apply the
     precedence.
   * ``P1M``: ``aggregator_meter_months``; its finer part is the sum of the days'
     effective values (and present days), plus readings that fit no day.
   Each level adds its changes summed per placement to ``agg_scoped``.
3. :data:`APPLY`: ``agg_scoped`` summed per building, parcel, neighbourhood and
   commune and added to ``rollups`` (``value += dv``, ``delivery_points += dp``,
   ``max_point_value = greatest(…, now_v)``), sorted so that two workers lock
   shared rows in the same order (no deadlock). Rows where some point went down
   are listed in ``agg_recompute``; :mod:`aggregator.recompute` makes their
   largest point exact.

Bucket rule (see :mod:`aggregator.buckets`): a reading goes only into buckets that
contain it entirely; local Europe/Paris days and months (23/24/25-hour days).
Half-hours and hours are the same in UTC, Paris offsets being whole hours.
"""

from __future__ import annotations

_PLACE = "energy, building_id, parcel_idu, iris, commune_insee"
_PLACE_TYPES = (
    "energy text, building_id text, parcel_idu text, iris text, commune_insee text"
)

TABLES = f"""
CREATE TEMP TABLE IF NOT EXISTS agg_meters (
    meter_id text PRIMARY KEY, point_id text, is_device boolean, shared boolean,
    {_PLACE_TYPES}
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_sides (
    point_id text, shared boolean, direction text, unit text, period text, series_id bigint,
    start_ts timestamptz, end_ts timestamptz, quality smallint,
    value double precision, n integer, ds timestamptz, replaced boolean
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_days (
    point_id text, direction text, unit text, ds timestamptz, {_PLACE_TYPES}
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_day_changes (
    point_id text, direction text, unit text, ds timestamptz, quality smallint,
    dv double precision, dp integer
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_sub (
    series_id bigint, direction text, unit text, bucket text, bs timestamptz,
    be timestamptz, quality smallint, dv double precision,
    dn integer, now_v double precision, now_n integer, {_PLACE_TYPES}
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_psub (
    point_id text, direction text, unit text, bucket text, bs timestamptz,
    be timestamptz, ds timestamptz, quality smallint, dv double precision,
    dn integer
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_scoped (
    {_PLACE_TYPES}, direction text, unit text, bucket text,
    bucket_start timestamptz, bucket_end timestamptz, quality smallint,
    dv double precision, dp integer, now_v double precision, dropped boolean
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_recompute (
    scope text, scope_id text, bucket text, bucket_start timestamptz,
    bucket_end timestamptz, energy text, direction text, quality smallint, unit text
) ON COMMIT DELETE ROWS
"""

METER_COLUMNS = ("meter_id", "point_id", "is_device", "shared", *_PLACE.split(", "))

ANALYZE_SIDES = "ANALYZE agg_sides"
"""Temporary tables have no statistics: without them the planner expects a few
rows and sorts where hashing 300,000 rows is several times faster."""

ANALYZE_DAYS = "ANALYZE agg_days"
"""The same for the day placements (then hash-joined, not sorted and merged)."""

SIDES = """
INSERT INTO agg_sides
SELECT m.point_id, m.shared, s.direction, s.unit, s.period, c.series_id, c.start_ts,
       x.end_ts, CASE WHEN m.is_device THEN 3 ELSE x.quality END, x.value, x.n,
       date_trunc('day', c.start_ts, 'Europe/Paris'), c.old_quality IS NOT NULL
FROM sen1_changes c
JOIN series s ON s.series_id = c.series_id
JOIN agg_meters m ON m.meter_id = s.meter_id
CROSS JOIN LATERAL (VALUES (c.end_ts, c.quality, c.value, 1),
                           (c.old_end_ts, c.old_quality, -c.old_value, -1))
    AS x(end_ts, quality, value, n)
WHERE x.quality IS NOT NULL AND s.kind = 'interval' AND s.channel = ''
  AND s.dimension IN ('energy', 'volume') AND m.point_id IS NOT NULL
  AND (NOT m.is_device OR s.period = '')
"""
"""Both sides of every change, keyed by the DELIVERY POINT the series counts for;
a device's readings take the quality slot 3 (``device``) whatever their own
quality; an unattached device's are left out (they count nowhere)."""

# Per-meter changes (with placement columns) -> summed per placement.
_SCOPE = """
INSERT INTO agg_scoped
SELECT {place}, direction, unit, bucket, bucket_start, max(bucket_end), quality,
       sum(dv), sum(dp), max(now_v), bool_or(dropped)
FROM {source} WHERE building_id IS NOT NULL
GROUP BY {place}, direction, unit, bucket, bucket_start, quality
"""

_Q = (0, 1, 2, 3)
DEVICE = 3
"""Quality slot of real-time device data: below every settled quality."""
QUALITIES = "ARRAY['estimated', 'raw', 'corrected', 'device']"
"""Rollup quality of slot q: ``QUALITIES[q + 1]`` in SQL."""
COLUMNS = [f"{part}{q}" for part in ("ev", "en", "sv", "sn") for q in _Q]
"""Per-quality columns of the per-point period tables (migrations 1001, 1101)."""


def _terms(prefix: str, device_yields: bool) -> list[tuple[str, str]]:
    """(value, count) SQL of each quality slot of a per-point period total.

    The exact series wins for the whole period as soon as it has a reading in any
    quality; otherwise the finer part counts. With ``device_yields`` (days) the
    device slot counts only when the point has NO settled reading at all in the
    period (exact or finer): settled utility data takes precedence over real-time
    device data. A month sums its days, each of which already chose its source, so
    its device slot is just another finer part.
    """
    col = [f"coalesce({prefix}{c}, 0)" for c in COLUMNS]
    n = len(_Q)
    ev, en, sv, sn = col[0:n], col[n : 2 * n], col[2 * n : 3 * n], col[3 * n :]
    exact = "(" + " + ".join(en) + " > 0)"
    settled = f"({exact} OR " + " + ".join(sn[:DEVICE]) + " > 0)"
    terms = []
    for q in _Q:
        if q == DEVICE and device_yields:
            terms.append(
                (
                    f"CASE WHEN {settled} THEN 0 ELSE {sv[q]} END",
                    f"CASE WHEN {settled} THEN 0 ELSE {sn[q]} END",
                )
            )
        else:
            terms.append(
                (
                    f"CASE WHEN {exact} THEN {ev[q]} ELSE {sv[q]} END",
                    f"CASE WHEN {exact} THEN {en[q]} ELSE {sn[q]} END",
                )
            )
    return terms


def effective(prefix: str = "", *, device_yields: bool) -> str:
    """VALUES rows (quality, value, count) of a per-point period total."""
    return ", ".join(
        f"({q}, {v}, {n})"
        for q, (v, n) in zip(_Q, _terms(prefix, device_yields), strict=True)
    )


def _new_and_old(device_yields: bool) -> str:
    """VALUES rows (quality, new value, new count, old value, old count)."""
    new, old = _terms("new_", device_yields), _terms("old_", device_yields)
    return ", ".join(
        f"({q}, {nv}, {nn}, {ov}, {on})"
        for q, (nv, nn), (ov, on) in zip(_Q, new, old, strict=True)
    )


def _pivot(part: str, exact: bool) -> str:
    """The 12 per-quality columns from rows grouped by (quality, exact)."""
    of = "value" if part in ("ev", "sv") else "n"
    return ", ".join(
        f"coalesce(sum({of}) FILTER (WHERE quality = {q} AND "
        f"{'' if exact else 'NOT '}exact), 0) AS {part}{q}"
        for q in _Q
    )


_PERIOD = """
WITH parts AS ({parts}), grouped AS (
    SELECT point_id, direction, unit, ps, quality, exact,
           sum(value) AS value, sum(n) AS n
    FROM parts GROUP BY point_id, direction, unit, ps, quality, exact
), deltas AS (
    SELECT point_id, direction, unit, ps,
           date_add(ps, interval '{length}', 'Europe/Paris') AS pe,
           {pivot}
    FROM grouped GROUP BY point_id, direction, unit, ps
), written AS (
    INSERT INTO {table} AS t (point_id, direction, unit, {p}_start, {p}_end,
                              {columns}, {place})
    SELECT d.*, coalesce(m.energy, 'electricity'), m.building_id, m.parcel_idu,
           m.iris, m.commune_insee
    FROM deltas d LEFT JOIN agg_meters m ON m.meter_id = d.point_id
    ORDER BY d.point_id, d.direction, d.unit, d.ps
    ON CONFLICT (point_id, direction, unit, {p}_start) DO UPDATE SET
        {updates}
    RETURNING new.point_id, new.direction, new.unit, new.{p}_start AS ps,
              new.{p}_end AS pe, new.energy, new.building_id, new.parcel_idu,
              new.iris, new.commune_insee, {returning}
), changed AS (
    SELECT w.point_id, w.direction, w.unit, w.ps, w.pe, w.energy, w.building_id,
           w.parcel_idu, w.iris, w.commune_insee, '{bucket}' AS bucket,
           w.ps AS bucket_start, w.pe AS bucket_end, e.quality,
           e.new_v - e.old_v AS dv, (e.new_n > 0)::int - (e.old_n > 0)::int AS dp,
           CASE WHEN e.new_n > 0 THEN e.new_v ELSE 0 END AS now_v,
           e.new_v < e.old_v AS dropped
    FROM written w
    CROSS JOIN LATERAL (VALUES {both}) AS e(quality, new_v, new_n, old_v, old_n)
    WHERE e.new_v <> e.old_v OR (e.new_n > 0) <> (e.old_n > 0)
){extra}
{scope}
"""


def _period(
    bucket: str,
    table: str,
    p: str,
    length: str,
    parts: str,
    extra: str = "",
    *,
    device_yields: bool,
) -> str:
    pivot = ",\n           ".join(
        _pivot(part, exact=part in ("ev", "en")) for part in ("ev", "en", "sv", "sn")
    )
    return _PERIOD.format(
        parts=parts,
        length=length,
        pivot=pivot,
        table=table,
        p=p,
        columns=", ".join(COLUMNS),
        place=_PLACE,
        updates=", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in COLUMNS),
        returning=", ".join(f"new.{c} AS new_{c}, old.{c} AS old_{c}" for c in COLUMNS),
        bucket=bucket,
        both=_new_and_old(device_yields),
        extra=extra,
        scope=_SCOPE.format(place=_PLACE, source="changed"),
    )


# Day: the DAILY series is exact; native readings inside the day are finer. (A
# day lasts at least 23 hours: the cheap test settles nearly every reading.)
_DAY_PARTS = """
SELECT point_id, direction, unit, quality, value, n, ds AS ps,
       period = 'daily' AS exact
FROM agg_sides
WHERE period IN ('', 'daily')
  AND (end_ts <= ds + interval '23 hours'
       OR end_ts <= date_add(ds, interval '1 day', 'Europe/Paris'))
"""
_DAY_EXTRA = """, days AS (
    INSERT INTO agg_days
    SELECT point_id, direction, unit, ps, energy, building_id, parcel_idu, iris,
           commune_insee FROM written
), day_changes AS (
    INSERT INTO agg_day_changes
    SELECT point_id, direction, unit, ps, quality, dv, dp FROM changed
)"""

# Month: the MONTHLY series is exact; the finer part is the days' effective changes
# (value and present-day count) plus native readings that fit the month but no
# day (e.g. a multi-day index delta).
_MONTH_PARTS = """
SELECT point_id, direction, unit, quality, dv AS value, dp AS n,
       date_trunc('month', ds, 'Europe/Paris') AS ps, false AS exact
FROM agg_day_changes
UNION ALL
SELECT point_id, direction, unit, quality, value, n,
       date_trunc('month', start_ts, 'Europe/Paris'), period = 'monthly'
FROM agg_sides
WHERE (period = 'monthly'
       OR (period = '' AND end_ts > ds + interval '23 hours'
           AND end_ts > date_add(ds, interval '1 day', 'Europe/Paris')))
  AND end_ts <= date_add(date_trunc('month', start_ts, 'Europe/Paris'),
                         interval '1 month', 'Europe/Paris')
"""

# Half-hours and hours. Changes are grouped per series, bucket and quality; a
# bucket's content is known when the new readings of that quality fill it (the
# usual case: whole days in one quality), and those go straight to the placement
# sums. The others (live minutes, a partly corrected hour) wait in ``agg_sub`` for
# :data:`LOOKUP`, which reads the bucket back: always right, only slower. A new
# half-hour that is its own bucket and replaced nothing needs no grouping at all.
_EPOCH = "timestamptz '2000-01-01 00:00+00'"
_ALONE = "NOT replaced AND start_ts = bs AND end_ts = bs + interval '30 minutes'"
_SUB_CHANGE = """
    dv, (now_n > 0)::int - (now_n - dn > 0)::int AS dp,
    CASE WHEN now_n > 0 THEN now_v ELSE 0 END AS now_v, dv < 0 AS dropped
"""
_FIT = """
SELECT series_id, point_id, direction, unit, ds, quality, value, n, start_ts, end_ts,
       replaced, '{bucket}' AS bucket, {secs} AS secs, interval '{width}' AS width,
       date_bin('{width}', start_ts, {epoch}) AS bs
FROM agg_sides WHERE period = '' AND {which}
"""
_PLACE_JOIN = """
JOIN agg_days d ON d.point_id = {t}.point_id AND d.direction = {t}.direction
 AND d.unit = {t}.unit AND d.ds = {t}.ds
"""
_SUB_GROUP = f"""
WITH grouped AS (
    SELECT series_id, bucket, bs, quality, any_value(ds) AS ds,
           any_value(width) AS width, any_value(point_id) AS point_id,
           any_value(direction) AS direction, any_value(unit) AS unit,
           sum(value) AS dv, sum(n) AS dn,
           coalesce(sum(value) FILTER (WHERE n = 1), 0) AS now_v,
           count(*) FILTER (WHERE n = 1) AS now_n,
           coalesce(sum(extract(epoch FROM end_ts - start_ts)) FILTER (WHERE n = 1), 0)
               >= any_value(secs) AS covered
    FROM (
        {
    _FIT.format(
        bucket="PT30M", secs=1800, width="30 minutes", epoch=_EPOCH, which="NOT shared"
    )
}
        UNION ALL
        {
    _FIT.format(
        bucket="PT1H", secs=3600, width="1 hour", epoch=_EPOCH, which="NOT shared"
    )
}
    ) fit
    WHERE end_ts <= bs + width AND NOT (bucket = 'PT30M' AND {_ALONE})
    GROUP BY series_id, bucket, bs, quality
), waiting AS (
    INSERT INTO agg_sub
    SELECT g.series_id, g.direction, g.unit, g.bucket, g.bs, g.bs + g.width,
           g.quality, g.dv, g.dn, g.now_v, g.now_n, d.energy, d.building_id,
           d.parcel_idu, d.iris, d.commune_insee
    FROM grouped g {_PLACE_JOIN.format(t="g")}
    WHERE NOT g.covered
), changed AS (
    SELECT d.energy, d.building_id, d.parcel_idu, d.iris, d.commune_insee,
           c.direction, c.unit, c.bucket, c.bs AS bucket_start,
           c.bs + c.width AS bucket_end, c.quality, {_SUB_CHANGE}
    FROM (
        SELECT point_id, direction, unit, ds, bucket, bs, width, quality, dv, dn,
               now_v, now_n
        FROM grouped WHERE covered
        UNION ALL
        SELECT point_id, direction, unit, ds, 'PT30M', bs, interval '30 minutes',
               quality, value, 1, value, 1
        FROM (SELECT *, date_bin('30 minutes', start_ts, {_EPOCH}) AS bs
              FROM agg_sides WHERE period = '' AND NOT shared) a
        WHERE {_ALONE}
    ) c {_PLACE_JOIN.format(t="c")}
    WHERE c.dv <> 0 OR (c.now_n > 0) <> (c.now_n - c.dn > 0)
)
{{scope}}
"""
UNCOVERED = "SELECT exists(SELECT 1 FROM agg_sub)"
"""Whether :data:`LOOKUP` is needed (live minutes; never for whole days)."""

LOOKUP = """
UPDATE agg_sub u SET now_v = l.v, now_n = l.n
FROM (
    SELECT p.series_id, p.bucket, p.bs, p.quality,
           coalesce(sum(r.value), 0) AS v, count(r.value) AS n
    FROM agg_sub p
    LEFT JOIN readings r ON r.series_id = p.series_id AND r.start_ts >= p.bs
     AND r.start_ts < p.be AND r.end_ts <= p.be AND r.quality = p.quality
    GROUP BY p.series_id, p.bucket, p.bs, p.quality
) l
WHERE u.series_id = l.series_id AND u.bucket = l.bucket AND u.bs = l.bs
  AND u.quality = l.quality
"""

_SUB_SCOPE = f"""
WITH changed AS (
    SELECT energy, building_id, parcel_idu, iris, commune_insee, direction, unit,
           bucket, bs AS bucket_start, be AS bucket_end, quality,
           {_SUB_CHANGE}
    FROM agg_sub WHERE dv <> 0 OR (now_n > 0) <> (now_n - dn > 0)
)
{{scope}}
"""

DAYS = _period(
    "P1D",
    "aggregator_meter_days",
    "day",
    "1 day",
    _DAY_PARTS,
    _DAY_EXTRA,
    device_yields=True,
)
"""Days first: they create the day rows whose placement the rest follows."""

SUB_DAILY = _SUB_GROUP.format(scope=_SCOPE.format(place=_PLACE, source="changed"))
"""Half-hour and hour changes: known buckets summed per placement, the others
left in ``agg_sub``."""

SUB_DAILY_SCOPE = _SUB_SCOPE.format(scope=_SCOPE.format(place=_PLACE, source="changed"))
"""``agg_sub`` after :data:`LOOKUP`, summed per placement."""

_SHARED_FIT = " UNION ALL ".join(
    _FIT.format(bucket=b, secs=secs, width=w, epoch=_EPOCH, which="shared")
    for b, secs, w in (("PT30M", 1800, "30 minutes"), ("PT1H", 3600, "1 hour"))
)

SHARED = f"""
INSERT INTO agg_psub
SELECT point_id, direction, unit, bucket, bs, bs + width, any_value(ds), quality,
       sum(value), sum(n)
FROM ({_SHARED_FIT}) fit
WHERE end_ts <= bs + width
GROUP BY point_id, direction, unit, bucket, bs, width, quality
"""
"""Half-hour and hour changes of points that have devices, per source slot."""

ANALYZE_SHARED = "ANALYZE agg_psub"
"""The same for the half-hours of points with devices: without statistics a
backfill of their curves (tens of thousands of buckets) is planned as a few rows
and read back bucket by bucket (measured: 43 s instead of < 1 s for two months
of curves of the demo's Flukso homes)."""

SHARED_PENDING = "SELECT exists(SELECT 1 FROM agg_psub)"
"""Whether :data:`SHARED_SCOPE` has work (only homes with a measuring device)."""

_SERIES_OF_POINT = """
    JOIN agg_meters m ON m.point_id = k.point_id
    JOIN series s ON s.meter_id = m.meter_id AND s.direction = k.direction
     AND s.unit = k.unit AND s.kind = 'interval' AND s.channel = ''
     AND s.period = '' AND s.dimension IN ('energy', 'volume')
    JOIN readings r ON r.series_id = s.series_id AND r.start_ts >= k.bs
     AND r.start_ts < k.be AND r.end_ts <= k.be
"""

SHARED_SCOPE = f"""
WITH keys AS (
    SELECT point_id, direction, unit, bucket, bs, any_value(be) AS be,
           any_value(ds) AS ds
    FROM agg_psub GROUP BY point_id, direction, unit, bucket, bs
), now AS (
    SELECT k.point_id, k.direction, k.unit, k.bucket, k.bs,
           CASE WHEN m.is_device THEN {DEVICE} ELSE r.quality END AS quality,
           sum(r.value) AS v, count(*) AS n
    FROM keys k {_SERIES_OF_POINT}
    GROUP BY 1, 2, 3, 4, 5, 6
), states AS (
    SELECT k.point_id, k.direction, k.unit, k.bucket, k.bs, k.be, k.ds, q.quality,
           coalesce(w.v, 0) AS now_v, coalesce(w.n, 0) AS now_n,
           coalesce(w.v, 0) - coalesce(d.dv, 0) AS old_v,
           coalesce(w.n, 0) - coalesce(d.dn, 0) AS old_n
    FROM keys k CROSS JOIN (VALUES (0), (1), (2), ({DEVICE})) AS q(quality)
    LEFT JOIN now w ON w.point_id = k.point_id AND w.direction = k.direction
     AND w.unit = k.unit AND w.bucket = k.bucket AND w.bs = k.bs
     AND w.quality = q.quality
    LEFT JOIN agg_psub d ON d.point_id = k.point_id AND d.direction = k.direction
     AND d.unit = k.unit AND d.bucket = k.bucket AND d.bs = k.bs
     AND d.quality = q.quality
), settled AS (
    SELECT *,
           bool_or(now_n > 0 AND quality < {DEVICE}) OVER w AS settled_now,
           bool_or(old_n > 0 AND quality < {DEVICE}) OVER w AS settled_old
    FROM states
    WINDOW w AS (PARTITION BY point_id, direction, unit, bucket, bs)
), eff AS (
    SELECT *,
           CASE WHEN quality = {DEVICE} AND settled_now THEN 0 ELSE now_v END AS nv,
           CASE WHEN quality = {DEVICE} AND settled_now THEN 0 ELSE now_n END AS nn,
           CASE WHEN quality = {DEVICE} AND settled_old THEN 0 ELSE old_v END AS ov,
           CASE WHEN quality = {DEVICE} AND settled_old THEN 0 ELSE old_n END AS o_n
    FROM settled
), changed AS (
    SELECT d.energy, d.building_id, d.parcel_idu, d.iris, d.commune_insee,
           e.direction, e.unit, e.bucket, e.bs AS bucket_start, e.be AS bucket_end,
           e.quality, e.nv - e.ov AS dv, (e.nn > 0)::int - (e.o_n > 0)::int AS dp,
           CASE WHEN e.nn > 0 THEN e.nv ELSE 0 END AS now_v, e.nv < e.ov AS dropped
    FROM eff e {_PLACE_JOIN.format(t="e")}
    WHERE e.nv <> e.ov OR (e.nn > 0) <> (e.o_n > 0)
)
{_SCOPE.format(place=_PLACE, source="changed")}
"""
"""Half-hours and hours of points with devices: ONE source per point and bucket.

The point's state in each touched bucket is read back whole (its own series and
its devices', index range scans), per slot: qualities 0-2 of the settled series,
slot 3 of the devices. The state before the batch is that minus the batch's
changes. Settled data present -> the device slot counts 0, so settled data that
arrives after the device data withdraws the device's contribution by delta (and a
device reading arriving under settled data changes nothing). Two workers touching
one point are serialised by the point's day row, locked by :data:`DAYS` earlier
in the same transaction, so each reads the other's committed readings.
"""

MONTHS = _period(
    "P1M",
    "aggregator_meter_months",
    "month",
    "1 month",
    _MONTH_PARTS,
    device_yields=False,
)
"""Months last: they read the day changes (``agg_day_changes``)."""

SCOPES: dict[str, str] = {
    "building": "building_id",
    "parcel": "parcel_idu",
    "neighbourhood": "iris",
    "commune": "commune_insee",
}

_KEY = "scope, scope_id, bucket, bucket_start, energy, direction, quality, unit"
_SCOPED = " UNION ALL ".join(
    f"SELECT '{scope}' AS scope, {column} AS scope_id, bucket, bucket_start, energy, "
    f"direction, quality, unit, max(bucket_end) AS bucket_end, sum(dv) AS dv, "
    f"sum(dp) AS dp, max(now_v) AS now_v, bool_or(dropped) AS dropped "
    f"FROM agg_scoped GROUP BY {column}, bucket, bucket_start, energy, direction, "
    f"quality, unit"
    for scope, column in SCOPES.items()
)

APPLY = f"""
WITH deltas AS ({_SCOPED}), recompute AS (
    INSERT INTO agg_recompute
    SELECT scope, scope_id, bucket, bucket_start, bucket_end, energy, direction,
           quality, unit
    FROM deltas WHERE dropped
)
INSERT INTO rollups AS r (scope, scope_id, bucket, bucket_start, bucket_end, energy,
    direction, quality, unit, value, delivery_points, max_point_value)
SELECT scope, scope_id, bucket, bucket_start, bucket_end, energy, direction,
       ({QUALITIES})[quality + 1], unit, dv, dp, now_v
FROM deltas
ORDER BY {_KEY}
ON CONFLICT (scope, scope_id, bucket, bucket_start, energy, direction, quality, unit)
DO UPDATE SET value = r.value + EXCLUDED.value,
              delivery_points = r.delivery_points + EXCLUDED.delivery_points,
              max_point_value = greatest(r.max_point_value, EXCLUDED.max_point_value),
              updated_at = now()
"""
