"""Aggregator settings (``AGGREGATOR_*``), built once in ``__main__``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from energy_core.settings import CongestionSettings, ServiceSettings


class Settings(ServiceSettings):
    """Batching, live-load and congestion knobs; Kafka/PostgreSQL from the base."""

    model_config = SettingsConfigDict(
        env_prefix="AGGREGATOR_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    http_port: int = 8013
    """Faust web port: /metrics, /healthz, /readyz (one per worker process)."""
    data_dir: str = ".var/aggregator"
    """Faust's data directory (one per worker on a shared host)."""
    batch_size: int = 4000
    """Kafka records (reading batches) per database transaction."""
    batch_within_s: float = 0.25
    """Maximum wait to fill a batch: bounds freshness when traffic is low."""
    max_readings_per_transaction: int = 150_000
    """A batch holding more readings (a backfill's year of days or weeks of
    half-hours per record) is written in several transactions of at most this
    many, days first, so that what is written becomes visible as it goes."""
    work_mem_mb: int = 256
    """PostgreSQL ``work_mem`` of the batch transaction: a batch of 4,000 records
    groups some 300,000 rows per statement, and spilling them to disk costs more
    than half the throughput (measured with bench/bench_aggregator.py)."""
    commit_interval_s: float = 1.0
    """How often Faust commits acknowledged offsets (after the DB transaction)."""
    session_timeout_s: float = 10.0
    """Consumer-group session timeout: how soon a killed worker's partitions move."""
    stale_after_s: float = 30.0
    """A meter's last instantaneous power older than this counts as stale."""
    sample_interval_s: float = 0.5
    """How often the leader samples neighbourhood load and runs congestion: a
    home's live power then reaches its neighbourhood's load within 2 s (Flukso's
    1 s micro-batch + one batch here + at most one sample period; measured by
    bench/bench_live_load.py)."""
    load_retention_h: float = 24.0
    """Load samples (one per neighbourhood per sample) kept this long."""
    congestion: CongestionSettings = Field(default_factory=CongestionSettings)
    """The level thresholds (``CONGESTION_LEVEL_THRESHOLDS``), shared with the api
    which draws them on the operator page."""
    hysteresis: float = 0.05
    """A level is left only below its threshold minus this ratio."""
    min_duration_s: float = 30.0
    """A new level must hold this long before it is raised or lowered."""
