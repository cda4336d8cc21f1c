"""Exact largest point after a decrease: SQL run only for the rows that need it.

``rollups.max_point_value`` is kept by ``greatest()`` while values grow. When a
point's total in a bucket goes DOWN (a correction, a value moving from raw to
corrected), the old largest point may be gone: :data:`aggregator.rollups.APPLY`
lists those rollup rows in ``agg_recompute`` and these statements recompute them
from the per-meter state, in the same transaction:

* days and months: the per-meter rows of that period placed in the scope;
* half-hours and hours: the points whose day row is placed in the scope, and
  their readings (and their devices') in the bucket (index range scans), one
  source per point as in :data:`aggregator.rollups.SHARED_SCOPE`.

Decreases are rare (live data and backfills only add), so this costs nothing on
the usual path.
"""

from __future__ import annotations

from aggregator.rollups import DEVICE, QUALITIES, SCOPES, effective

_MATCH = f"""
WHERE r.scope = k.scope AND r.scope_id = k.scope_id AND r.bucket = k.bucket
  AND r.bucket_start = k.bucket_start AND r.energy = k.energy
  AND r.direction = k.direction AND r.unit = k.unit
  AND r.quality = ({QUALITIES})[k.quality + 1]
"""

_PERIOD = """
UPDATE rollups r SET max_point_value = (
    SELECT coalesce(max(e.v) FILTER (WHERE e.n > 0), 0)
    FROM {table} t CROSS JOIN LATERAL (VALUES {effective}) AS e(q, v, n)
    WHERE t.{column} = k.scope_id AND t.{p}_start = k.bucket_start
      AND t.energy = k.energy AND t.direction = k.direction AND t.unit = k.unit
      AND e.q = k.quality
)
FROM agg_recompute k
{match} AND k.scope = '{scope}' AND k.bucket = '{bucket}'
"""

_SUB_DAILY = f"""
UPDATE rollups r SET max_point_value = (
    SELECT coalesce(max(CASE WHEN k.quality = {DEVICE} AND v.settled THEN 0
                             ELSE v.total END), 0)
    FROM aggregator_meter_days t
    CROSS JOIN LATERAL (
        SELECT sum(x.value) FILTER (WHERE src.q = k.quality) AS total,
               coalesce(bool_or(src.q < {DEVICE}), false) AS settled
        FROM series s
        JOIN readings x ON x.series_id = s.series_id
         AND x.start_ts >= k.bucket_start AND x.start_ts < k.bucket_end
         AND x.end_ts <= k.bucket_end
        CROSS JOIN LATERAL (
            SELECT CASE WHEN s.meter_id = t.point_id THEN x.quality
                        ELSE {DEVICE} END AS q
        ) src
        WHERE (s.meter_id = t.point_id OR s.meter_id IN (
                   SELECT d.meter_id FROM meters d
                   WHERE d.delivery_point_id = t.point_id))
          AND s.direction = t.direction AND s.unit = t.unit
          AND s.kind = 'interval' AND s.channel = '' AND s.period = ''
          AND s.dimension IN ('energy', 'volume')
    ) v
    WHERE t.{{column}} = k.scope_id
      AND t.day_start = date_trunc('day', k.bucket_start, 'Europe/Paris')
      AND t.energy = k.energy AND t.direction = k.direction AND t.unit = k.unit
)
FROM agg_recompute k
{{match}} AND k.scope = '{{scope}}' AND k.bucket IN ('PT30M', 'PT1H')
"""
"""A point's total in a half-hour or hour: its settled series in the bucket's
quality, or (slot ``device``) its devices' readings when it has no settled one.
Devices are found in the registry (``meters.delivery_point_id``): this runs only
after a decrease, never per record."""


def _statements() -> tuple[str, ...]:
    out: list[str] = []
    for scope, column in SCOPES.items():
        for bucket, table, p in (
            ("P1D", "aggregator_meter_days", "day"),
            ("P1M", "aggregator_meter_months", "month"),
        ):
            yields = bucket == "P1D"
            out.append(
                _PERIOD.format(
                    table=table,
                    effective=effective("t.", device_yields=yields),
                    column=column,
                    p=p,
                    match=_MATCH,
                    scope=scope,
                    bucket=bucket,
                )
            )
        out.append(_SUB_DAILY.format(column=column, match=_MATCH, scope=scope))
    return tuple(out)


PENDING = "SELECT count(*) FROM agg_recompute"
"""How many rollup rows wait for an exact largest point in this transaction."""

RECOMPUTE: tuple[str, ...] = _statements()
"""Per scope: days, months, then half-hours and hours."""
