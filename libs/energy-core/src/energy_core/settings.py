"""Settings base classes. Only a service's ``__main__`` instantiates them.

Shared blocks read their own prefixes (``KAFKA_…``, ``POSTGRES_…``) so that every
service of one deployment points at the same broker and database with one set of
variables; each service adds its own class with its own prefix.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from energy_core.topics import TopicSpec

_COMMON = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or any loopback address
    (all of 127.0.0.0/8 and ::1; a test may run a whole stack on 127.x.y.z so
    that it does not collide with a ``make run`` on 127.0.0.1)."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class KafkaSettings(BaseSettings):
    """How to reach Kafka (embedded tansu by default, a real cluster in production)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", **_COMMON)

    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated host:port list."""
    topic_prefix: str = ""
    """Prepended to every registry name; tests use it to isolate themselves."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    enable_idempotence: bool = False
    """Off by default: the embedded broker has no idempotent producer. Turn it on
    for a production cluster; correctness never depends on it (writes are idempotent)."""
    acks: Literal["all", "1", "0"] = "all"
    linger_ms: int = 5
    """Small batching delay: throughput at a cost of a few ms of latency."""
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = None
    max_batch_size: int = 1_048_576
    """Producer batch size in bytes."""

    def topic_name(self, spec: TopicSpec) -> str:
        """The concrete topic name of a registry spec in this deployment."""
        return f"{self.topic_prefix}{spec.name}"


class PostgresSettings(BaseSettings):
    """How to reach PostgreSQL (embedded by default)."""

    model_config = SettingsConfigDict(env_prefix="POSTGRES_", **_COMMON)

    dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/sen1")
    """libpq URL; a secret because production URLs carry a password."""
    pool_min_size: int = 1
    pool_max_size: int = 10


class CongestionSettings(BaseSettings):
    """The alert levels of the grid, one block for every service that needs them:
    the aggregator raises the levels with them, the api draws them on the operator
    page; one variable (``CONGESTION_LEVEL_THRESHOLDS``) so they cannot disagree."""

    model_config = SettingsConfigDict(env_prefix="CONGESTION_", **_COMMON)

    level_thresholds: tuple[float, float, float] = (0.80, 0.95, 1.10)
    """Load/capacity ratios entering OpenADR SIMPLE levels 1, 2, 3 (ascending)."""

    @field_validator("level_thresholds")
    @classmethod
    def _ascending(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not 0 < v[0] < v[1] < v[2]:
            raise ValueError("level thresholds must be positive and ascending")
        return v


class SecrecySettings(BaseSettings):
    """The secrecy rule of every door aggregates leave by (the api, the federation
    gateway): one block, one pair of variables (``SECRECY_MIN_POINTS``,
    ``SECRECY_MAX_SHARE``), because two doors with different thresholds publish
    different cells, and one door's cell minus the other's gives a group below
    either threshold away."""

    model_config = SettingsConfigDict(env_prefix="SECRECY_", **_COMMON)

    min_points: int = Field(default=10, ge=1)
    """An aggregate is published only with at least this many distinct delivery
    points (code de l'énergie D111-53: "supérieur à neuf")."""
    max_share: float | None = Field(default=0.85, gt=0, le=1)
    """Dominance rule: withheld when one point exceeds this share of the total
    (max_point_value / value). None disables the rule."""

    @model_validator(mode="after")
    def _no_former_names(self) -> SecrecySettings:
        # Until this block existed each door had its own variables; one still set
        # would now be ignored silently, and a threshold raised there would fall
        # back to 10 without a word: refuse to start instead.
        former = sorted(
            f"{door}_SECRECY_{name}"
            for door in ("API", "FEDERATION_GATEWAY")
            for name in ("MIN_POINTS", "MAX_SHARE")
            if os.environ.get(f"{door}_SECRECY_{name}")
        )
        if former:
            msg = (
                f"{', '.join(former)}: replaced by SECRECY_MIN_POINTS and "
                "SECRECY_MAX_SHARE (one rule for the api and the federation gateway)"
            )
            raise ValueError(msg)
        return self


class ServiceSettings(BaseSettings):
    """What every service has: its ops HTTP endpoint, logging, Kafka and PostgreSQL."""

    model_config = _COMMON

    http_host: str = "127.0.0.1"
    """Address of /metrics, /healthz and /readyz (0.0.0.0 in containers)."""
    http_port: int = 0
    """0 picks a free port; every service sets its own default."""
    log_level: str = "INFO"
    log_json: bool = True
    """JSON lines for machines; `make run` turns it off for people."""
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    secret_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SEN1_SECRET_KEY")
    )
    """The deployment's secret (Fernet key): seals secrets at rest and keys the log
    pseudonyms (``energy_core.observability.meter_ref``), the same in every service."""
