"""Prometheus metrics of the aggregator (``aggregator_<noun>_<unit>``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS = Counter("aggregator_records_total", "Reading-batch records processed")
READINGS_CHANGED = Counter(
    "aggregator_readings_changed_total", "Stored readings written or corrected"
)
DEAD_LETTERS = Counter("aggregator_dead_letters_total", "Records sent to dead letters")
DEAD_LETTERS_RECORDED = Counter(
    "aggregator_dead_letters_recorded_total",
    "Dead letters of every service stored in PostgreSQL (replays not counted)",
)
DB_RETRIES = Counter("aggregator_db_retries_total", "Batches retried after a DB error")
BATCH_SECONDS = Histogram(
    "aggregator_batch_seconds", "Duration of one batch transaction",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)  # fmt: skip
FRESHNESS_SECONDS = Histogram(
    "aggregator_freshness_seconds",
    "From the ingest service's produced_at to rollups committed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TERRITORY_METERS = Gauge("aggregator_territory_meters", "Meters in the territory map")
LIVE_POWER = Counter(
    "aggregator_live_power_updates_total",
    "Meter powers written by the live consumer (ahead of the readings agent)",
)
LEADER = Gauge("aggregator_leader", "1 when this worker samples load and congestion")
