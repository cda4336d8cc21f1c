"""SQL of the live-power path: last power per meter, load samples, the leader lock.

INSTANT readings (1 Hz power) are not stored raw: each batch keeps only the last
value per meter and direction in ``aggregator_meter_power`` (shared by every
worker), with the delivery point the meter counts for, and the leader samples the
sum per neighbourhood (:mod:`aggregator.load`).
"""

from __future__ import annotations

LEADER_LOCK = 0x5E41_0002
"""pg_try_advisory_lock key of the live-load/congestion leader."""

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS agg_power (
    meter_id text, point_id text, iris text, direction text,
    power_w double precision, measured_at timestamptz
) ON COMMIT DELETE ROWS
"""

UPSERT = """
INSERT INTO aggregator_meter_power AS m (meter_id, direction, point_id, iris, power_w,
                                        measured_at)
SELECT DISTINCT ON (meter_id, direction) meter_id, direction, point_id, iris, power_w,
       measured_at
FROM agg_power ORDER BY meter_id, direction, measured_at DESC
ON CONFLICT (meter_id, direction) DO UPDATE SET point_id = EXCLUDED.point_id,
    iris = EXCLUDED.iris, power_w = EXCLUDED.power_w,
    measured_at = EXCLUDED.measured_at
WHERE EXCLUDED.measured_at >= m.measured_at
"""

LIVE_LOAD = """
WITH power AS (
    SELECT iris, point_id, direction, power_w, measured_at >= $1 AS fresh
    FROM aggregator_meter_power
), load AS (
    SELECT iris,
           coalesce(sum(power_w) FILTER (WHERE fresh AND direction = 'consumption'),
                    0) / 1000.0 AS consumption_kw,
           coalesce(sum(power_w) FILTER (WHERE fresh AND direction = 'production'),
                    0) / 1000.0 AS production_kw
    FROM power GROUP BY iris
), points AS (
    SELECT iris, point_id, bool_or(fresh) AS fresh,
           bool_or(fresh AND direction = 'consumption') AS consuming,
           bool_or(fresh AND direction = 'production') AS producing
    FROM power WHERE point_id IS NOT NULL GROUP BY iris, point_id
), counted AS (
    SELECT iris, count(*) FILTER (WHERE fresh) AS reporting,
           count(*) FILTER (WHERE NOT fresh) AS stale,
           count(*) FILTER (WHERE consuming) AS consumers,
           count(*) FILTER (WHERE producing) AS producers
    FROM points GROUP BY iris
)
SELECT n.iris, n.capacity_kw, coalesce(l.consumption_kw, 0) AS consumption_kw,
       coalesce(l.production_kw, 0) AS production_kw,
       coalesce(c.reporting, 0) AS meters_reporting,
       coalesce(c.stale, 0) AS meters_stale,
       coalesce(c.consumers, 0) AS consumers_reporting,
       coalesce(c.producers, 0) AS producers_reporting
FROM neighbourhoods n LEFT JOIN load l USING (iris) LEFT JOIN counted c USING (iris)
"""
"""Per neighbourhood: fresh power per direction (a point's devices add up, each
in its own direction), and DELIVERY POINTS reporting / stale (a point with one
fresh device reports; the columns keep their historical names), and per
direction: the points whose consumption (production) is in the sum, so that the
api judges each direction's secrecy on the points that really make it. An
unattached device's power is load on the grid but no point."""

INSERT_LOAD = """
INSERT INTO neighbourhood_load (iris, at, consumption_kw, production_kw, capacity_kw,
    meters_reporting, meters_stale, consumers_reporting, producers_reporting)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (iris, at) DO NOTHING
"""

PRUNE_LOAD = "DELETE FROM neighbourhood_load WHERE at < $1"
"""Load samples are a live view, not an archive (energy lives in the rollups)."""
