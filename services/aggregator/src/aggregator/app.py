"""The Faust app (id ``aggregator``) configured for an at-least-once broker.

Built by :func:`aggregator.bootstrap.bootstrap`; this module holds its options and
the :class:`Context` its agents share.

The embedded broker (tansu) has no idempotent producer and no transactions, so:
``processing_guarantee="at_least_once"`` (Faust then never asks for idempotence),
``producer_acks`` from the settings (``all`` -> -1), topics come from the registry
(``topic_allow_declare=False``), no leader topic, memory store (no changelog
tables: state lives in PostgreSQL and in the compacted territory topic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from aggregator.load import LoadMonitor
from aggregator.pipeline import Pipeline
from aggregator.settings import Settings
from aggregator.territory import Territory
from aggregator.topics import Topics
from energy_core.observability import logging_config
from energy_store.db import create_pool

APP_ID = "aggregator"


@dataclass
class Context:
    """What agents share inside one worker process."""

    settings: Settings
    topics: Topics
    territory: Territory = field(default_factory=Territory)
    pool: asyncpg.Pool | None = None
    pipeline: Pipeline | None = None
    monitor: LoadMonitor | None = None
    leader_conn: asyncpg.Connection | None = None

    async def db(self) -> asyncpg.Pool:
        """The pool, created on first use (inside the worker's event loop)."""
        if self.pool is None:
            self.pool = await create_pool(self.settings.postgres)
        return self.pool


def faust_options(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from ours (separate so tests can check them)."""
    kafka = settings.kafka
    return {
        "broker": [f"kafka://{s.strip()}" for s in kafka.bootstrap_servers.split(",")],
        "key_serializer": "raw",
        "value_serializer": "raw",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1 if kafka.acks == "all" else int(kafka.acks),
        "producer_linger": kafka.linger_ms / 1000,
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "store": "memory://",
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": settings.commit_interval_s,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.session_timeout_s / 4,
        "web_enabled": True,
        "web_port": settings.http_port,
        "web_bind": settings.http_host,
        "web_host": settings.http_host,
        "datadir": settings.data_dir,
        # Faust's worker installs its own logging: ours instead (JSON, ids scrubbed,
        # exceptions without their message), like every other service.
        "logging_config": logging_config(
            "aggregator", level=settings.log_level, json_lines=settings.log_json
        ),
    }
