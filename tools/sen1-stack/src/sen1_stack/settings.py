"""Settings of the embedded stack behind `make run` (env prefix ``SEN1_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    """Ports and folders of the embedded default; every one is configurable."""

    model_config = SettingsConfigDict(env_prefix="SEN1_", frozen=True, extra="ignore")

    var_dir: Path = Path(".var")
    """Project-local folder for PostgreSQL data, logs and the dev secret key."""
    host: str = "127.0.0.1"
    kafka_port: int = 9092
    postgres_port: int = 55432
    """Not 5432, so a system PostgreSQL on the same machine does not collide."""
    mqtt_port: int = 1883
    database: str = "sen1"
    load_demo: bool = True
    """Load the Échirolles demo territory (idempotent)."""
    demo_mode: bool = True
    """Demo quotas for the emulated upstreams (``SEN1_DEMO_MODE=false`` to play the
    real ones): the Enedis emulator and ingest-enedis agree on a higher request
    rate and ingest-enedis backfills a year, so the demo is alive within a minute
    instead of an hour. Only ``make run`` sets them: no service default changes."""
