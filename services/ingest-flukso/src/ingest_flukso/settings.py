"""Settings of ingest-flukso (INGEST_FLUKSO_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings

DEMO_TOKEN = "0123456789abcdef0123456789abcdef"  # noqa: S105 - emulator demo value
"""The flukso emulator's master token (a test value, never a real one): the default
of ``api_token`` so that `make run` backfills from the emulator unconfigured."""

# populate_by_name: tests and benches pass mqtt_host/mqtt_port by field name.
_COMMON = SettingsConfigDict(
    frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
)


class Settings(ServiceSettings):
    """ingest-flukso: which brokers to follow, where to backfill from, how to batch."""

    model_config = SettingsConfigDict(env_prefix="INGEST_FLUKSO_", **_COMMON)

    http_port: int = 8011
    """Ops endpoint (/metrics /healthz /readyz); 8011 is reserved for this service."""
    mqtt_host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("INGEST_FLUKSO_MQTT_HOST", "SEN1_MQTT_HOST"),
    )
    """The broker: a device's own Mosquitto or a community broker bridging many."""
    mqtt_port: int = Field(
        1883,
        validation_alias=AliasChoices("INGEST_FLUKSO_MQTT_PORT", "SEN1_MQTT_PORT"),
    )
    mqtt_client: Literal["fast", "aiomqtt"] = "fast"
    """``fast``: the lean asyncio MQTT 3.1.1 subscriber of ``client.mqtt`` (about
    4 us of CPU per message here, paho's thread 24 us); ``aiomqtt``: the library."""
    extra_brokers: list[str] = Field(default_factory=list)
    """More brokers as ``host:port`` (a JSON list in the env), each followed apart."""
    api_url: str = "http://127.0.0.1:8091"
    """flukso.net REST API base URL (the emulator on 8091 in `make run`)."""
    api_token: SecretStr = SecretStr(DEMO_TOKEN)
    """``X-Token`` for backfill: an account (master) token reads every sensor."""
    batch_seconds: float = 0.5
    """How long readings gather before one ReadingBatch per meter is published.

    Half a second: a device sends one gauge a second, so a longer period saves
    few records, while it adds to the delay from a home's power to its
    neighbourhood's live load (the issue asks for 2 s end to end; measured by
    bench/bench_live_load.py)."""
    gap_seconds: int = 10
    """Silence (device time) on a sensor longer than this is a hole to backfill."""
    future_tolerance_seconds: int = 300
    """A device timestamp further ahead of the receive time is dead-lettered."""
    backfill_delay_seconds: float = 360.0
    """Wait after a hole closes before asking flukso.net: devices upload every 300 s."""
    backfill_retries: int = Field(default=5, ge=1)
    """Attempts per hole when flukso.net is unavailable (backoff doubles each time)."""
    backfill_requeue_seconds: float = 600.0
    """After ``backfill_retries`` failed attempts the hole is asked again this much
    later, for as long as flukso.net keeps minutes (24 h); then it is counted in
    ``ingest_flukso_backfill_abandoned_total`` and logged, never dropped silently."""
    history: bool = True
    """First contact: fetch a production sensor's past year (day averages) and
    today's minutes from flukso.net when the service meets it for the first time
    (see ingest_flukso.mapping.history)."""
    history_state_file: str = ".var/ingest-flukso/history.json"
    """Where the sensors whose history was published are kept across restarts
    (empty: in memory only, every restart fetches again; tests only)."""
    reconnect_max_seconds: float = 30.0
    """Cap of the exponential reconnect backoff to a broker."""
    shards: int = Field(1, ge=1)
    """Scale-out: run ``shards`` processes, each with its own ``shard``. A process
    reads every retained config but follows only the devices whose
    ``crc32(device id) % shards == shard`` (per-sensor subscriptions), so all of one
    device's messages (counters, phases, net) stay in one process. 1: wildcards."""
    shard: int = Field(0, ge=0)
    """This process's shard, 0 .. shards - 1."""

    @model_validator(mode="after")
    def _shard_in_range(self) -> Settings:
        if self.shard >= self.shards:
            raise ValueError(f"shard {self.shard} is not below shards {self.shards}")
        return self
