"""SQL of the live-power path: last power per meter, load samples, the leader lock.

INSTANT readings (1 Hz power) are not stored raw: each batch keeps only the last
value per meter in ``aggregator_meter_power`` (shared by every worker), and the
leader samples the sum per neighbourhood (:mod:`aggregator.load`).
"""

from __future__ import annotations

LEADER_LOCK = 0x5E41_0002
"""pg_try_advisory_lock key of the live-load/congestion leader."""

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS agg_power (
    meter_id text, iris text, direction text, power_w double precision,
    measured_at timestamptz
) ON COMMIT DELETE ROWS
"""

UPSERT = """
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

PRUNE_LOAD = "DELETE FROM neighbourhood_load WHERE at < $1"
"""Load samples are a live view, not an archive (energy lives in the rollups)."""
