"""SQL of the write path: stored changes -> per-meter buckets -> scope rollups.

All set-based, in the caller's transaction:

1. COPY the reading store's changes (new and old value/quality, plus the meter's
   placement) into ``agg_changes``;
2. one INSERT … ON CONFLICT adds ``+new`` under the new quality and ``-old`` under
   the old quality to every bucket that contains the reading entirely (the bucket
   rule of :mod:`aggregator.buckets`), and records which scope buckets it touched;
3. under a transaction-level advisory lock (so two workers never overwrite each
   other's recomputation), recompute those scope rollups from the per-meter table:
   sum, number of delivery points, largest point.
"""

from __future__ import annotations

ROLLUP_LOCK = 0x5E41_0001
"""pg_advisory_xact_lock key serialising rollup recomputation across workers."""

LEADER_LOCK = 0x5E41_0002
"""pg_try_advisory_lock key of the live-load/congestion leader."""

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS agg_changes (
    meter_id text, energy text, direction text, unit text,
    building_id text, parcel_idu text, iris text, commune_insee text,
    start_ts timestamptz, end_ts timestamptz,
    quality smallint, value double precision,
    old_quality smallint, old_value double precision
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS agg_touched (
    building_id text, parcel_idu text, iris text, commune_insee text,
    bucket text, bucket_start timestamptz, energy text, direction text,
    quality text, unit text
) ON COMMIT DELETE ROWS;
"""

CHANGE_COLUMNS = (
    "meter_id", "energy", "direction", "unit", "building_id", "parcel_idu", "iris",
    "commune_insee", "start_ts", "end_ts", "quality", "value", "old_quality",
    "old_value",
)  # fmt: skip

APPLY_CHANGES = """
WITH spans AS (
    SELECT c.*, s.bucket, s.bucket_start,
           CASE s.bucket
               WHEN 'PT30M' THEN s.bucket_start + interval '30 minutes'
               WHEN 'PT1H' THEN s.bucket_start + interval '1 hour'
               WHEN 'P1D' THEN date_add(s.bucket_start, interval '1 day', 'Europe/Paris')
               ELSE date_add(s.bucket_start, interval '1 month', 'Europe/Paris')
           END AS bucket_end
    FROM agg_changes c
    CROSS JOIN LATERAL (VALUES
        ('PT30M', date_bin('30 minutes', c.start_ts, timestamptz '2000-01-01 00:00+00')),
        ('PT1H', date_trunc('hour', c.start_ts, 'Europe/Paris')),
        ('P1D', date_trunc('day', c.start_ts, 'Europe/Paris')),
        ('P1M', date_trunc('month', c.start_ts, 'Europe/Paris'))
    ) AS s(bucket, bucket_start)
), deltas AS (
    SELECT sp.meter_id, sp.bucket, sp.bucket_start, sp.bucket_end, sp.energy,
           sp.direction, (ARRAY['estimated', 'raw', 'corrected'])[d.quality + 1]
               AS quality,
           sp.unit, sp.building_id, sp.parcel_idu, sp.iris, sp.commune_insee,
           d.dv, d.dn
    FROM spans sp
    CROSS JOIN LATERAL (VALUES (sp.quality, sp.value, 1),
                               (sp.old_quality, -sp.old_value, -1)) AS d(quality, dv, dn)
    WHERE sp.end_ts <= sp.bucket_end AND d.quality IS NOT NULL
), written AS (
    INSERT INTO aggregator_point_buckets AS p
        (meter_id, bucket, bucket_start, bucket_end, energy, direction, quality, unit,
         building_id, parcel_idu, iris, commune_insee, value, readings)
    SELECT meter_id, bucket, bucket_start, max(bucket_end), energy, direction,
           quality, unit, max(building_id), max(parcel_idu), max(iris),
           max(commune_insee), sum(dv), sum(dn)
    FROM deltas
    GROUP BY meter_id, bucket, bucket_start, energy, direction, quality, unit
    ON CONFLICT (meter_id, bucket, bucket_start, energy, direction, quality, unit)
    DO UPDATE SET value = p.value + EXCLUDED.value,
                  readings = p.readings + EXCLUDED.readings,
                  building_id = coalesce(p.building_id, EXCLUDED.building_id),
                  parcel_idu = coalesce(p.parcel_idu, EXCLUDED.parcel_idu),
                  iris = coalesce(p.iris, EXCLUDED.iris),
                  commune_insee = coalesce(p.commune_insee, EXCLUDED.commune_insee)
    RETURNING p.building_id, p.parcel_idu, p.iris, p.commune_insee, p.bucket,
              p.bucket_start, p.energy, p.direction, p.quality, p.unit
)
INSERT INTO agg_touched SELECT DISTINCT * FROM written
"""

_RECOMPUTE = """
INSERT INTO rollups AS r (scope, scope_id, bucket, bucket_start, bucket_end, energy,
    direction, quality, unit, value, delivery_points, max_point_value)
SELECT '{scope}', p.{column}, p.bucket, p.bucket_start, max(p.bucket_end), p.energy,
       p.direction, p.quality, p.unit,
       coalesce(sum(p.value) FILTER (WHERE p.readings > 0), 0),
       count(*) FILTER (WHERE p.readings > 0),
       coalesce(max(p.value) FILTER (WHERE p.readings > 0), 0)
FROM (SELECT DISTINCT {column}, bucket, bucket_start, energy, direction, quality, unit
      FROM agg_touched WHERE {column} IS NOT NULL) t
JOIN aggregator_point_buckets p
  USING ({column}, bucket, bucket_start, energy, direction, quality, unit)
GROUP BY p.{column}, p.bucket, p.bucket_start, p.energy, p.direction, p.quality, p.unit
ON CONFLICT (scope, scope_id, bucket, bucket_start, energy, direction, quality, unit)
DO UPDATE SET value = EXCLUDED.value, delivery_points = EXCLUDED.delivery_points,
              max_point_value = EXCLUDED.max_point_value, bucket_end = EXCLUDED.bucket_end,
              updated_at = now()
WHERE (r.value, r.delivery_points, r.max_point_value)
      IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.delivery_points, EXCLUDED.max_point_value)
"""

SCOPES: dict[str, str] = {
    "building": "building_id",
    "parcel": "parcel_idu",
    "neighbourhood": "iris",
    "commune": "commune_insee",
}

RECOMPUTE: tuple[str, ...] = tuple(
    _RECOMPUTE.format(scope=scope, column=column) for scope, column in SCOPES.items()
)

POWER_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS agg_power (
    meter_id text, iris text, direction text, power_w double precision,
    measured_at timestamptz
) ON COMMIT DELETE ROWS
"""

UPSERT_POWER = """
INSERT INTO aggregator_meter_power AS m (meter_id, iris, direction, power_w, measured_at)
SELECT DISTINCT ON (meter_id) meter_id, iris, direction, power_w, measured_at
FROM agg_power ORDER BY meter_id, measured_at DESC
ON CONFLICT (meter_id) DO UPDATE SET iris = EXCLUDED.iris,
    direction = EXCLUDED.direction, power_w = EXCLUDED.power_w,
    measured_at = EXCLUDED.measured_at
WHERE EXCLUDED.measured_at >= m.measured_at
"""

LIVE_LOAD = """
SELECT n.iris, n.capacity_kw,
       coalesce(sum(m.power_w) FILTER (WHERE m.direction = 'consumption'
                AND m.measured_at >= $1), 0) / 1000.0 AS consumption_kw,
       coalesce(sum(m.power_w) FILTER (WHERE m.direction = 'production'
                AND m.measured_at >= $1), 0) / 1000.0 AS production_kw,
       count(m.meter_id) FILTER (WHERE m.measured_at >= $1) AS meters_reporting,
       count(m.meter_id) FILTER (WHERE m.measured_at < $1) AS meters_stale
FROM neighbourhoods n LEFT JOIN aggregator_meter_power m USING (iris)
GROUP BY n.iris, n.capacity_kw
"""

INSERT_LOAD = """
INSERT INTO neighbourhood_load (iris, at, consumption_kw, production_kw, capacity_kw,
    meters_reporting, meters_stale)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (iris, at) DO NOTHING
"""
