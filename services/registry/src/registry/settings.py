"""Settings of the registry process (migrations, demo loading, outbox relay)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from energy_core.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Env prefix ``REGISTRY_``; Kafka and PostgreSQL come from ``KAFKA_``/``POSTGRES_``."""

    model_config = SettingsConfigDict(
        env_prefix="REGISTRY_", frozen=True, extra="ignore"
    )

    http_port: int = 8010
    relay_interval_s: float = 0.5
    """How often the outbox is polled: territory changes reach the topic within this."""
    republish_on_start: bool = True
    """Queue every entity at start, so an emptied broker (memory storage) is refilled.
    Harmless on a real cluster: the topic is compacted and the relay is state-based."""
