"""The Faust app (id ``aggregator``) configured for an at-least-once broker.

The embedded broker (tansu) has no idempotent producer and no transactions, so:
``processing_guarantee="at_least_once"`` (Faust then never asks for idempotence),
``producer_acks`` from the settings (``all`` -> -1), topics come from the registry
(``topic_allow_declare=False``), no leader topic, memory store (no changelog
tables: state lives in PostgreSQL and in the compacted territory topic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import faust

from aggregator import agents, web
from aggregator.congestion import CongestionPolicy
from aggregator.load import LoadMonitor
from aggregator.pipeline import Pipeline
from aggregator.settings import Settings
from aggregator.territory import Territory
from aggregator.topics import Topics, bind
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


def create_app(settings: Settings) -> tuple[faust.App, Context]:
    """Builds the app, its topics, agents and pages. Group id = topic prefix + id."""
    # Faust creates only the last level of its data directory.
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.kafka.topic_prefix + APP_ID, **faust_options(settings))
    ctx = Context(settings=settings, topics=bind(app, settings.kafka))
    ctx.pipeline = Pipeline(ctx.territory, work_mem_mb=settings.work_mem_mb)
    ctx.monitor = LoadMonitor(
        CongestionPolicy(
            thresholds=settings.level_thresholds,
            hysteresis=settings.hysteresis,
            min_duration=timedelta(seconds=settings.min_duration_s),
        ),
        stale_after=timedelta(seconds=settings.stale_after_s),
        retention=timedelta(hours=settings.load_retention_h),
    )
    agents.register(app, ctx)
    web.register(app, ctx)
    return app, ctx
