"""The composition root of the aggregator, shared by the worker and the rebuild.

``bootstrap(settings)`` builds the Faust app (group id = topic prefix + app id),
binds its topics, and wires the pipeline, the load monitor, the agents and the
ops pages (``/readyz`` checks each dependency: the territory topic loaded,
PostgreSQL answering). The pool is opened lazily inside the worker's event loop
(:meth:`aggregator.app.Context.db`), because Faust owns that loop.
``rebuilding(settings)`` is the offline path (workers stopped): the same pipeline,
built by the same :func:`pipeline_for`, over a one-connection pool and the
territory read from PostgreSQL, so a rule change is recomputed by the code that
computes it live.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import faust

from aggregator import agents, web
from aggregator.app import APP_ID, Context, faust_options
from aggregator.congestion import CongestionPolicy
from aggregator.load import LoadMonitor
from aggregator.pipeline import Pipeline
from aggregator.settings import Settings
from aggregator.territory import Territory
from aggregator.topics import bind


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built: the Faust app and what its agents share."""

    app: faust.App
    ctx: Context


def pipeline_for(settings: Settings, territory: Territory) -> Pipeline:
    """The rollup pipeline, identical for the live worker and the rebuild."""
    return Pipeline(
        territory,
        work_mem_mb=settings.work_mem_mb,
        max_readings=settings.max_readings_per_transaction,
    )


def monitor_for(settings: Settings) -> LoadMonitor:
    """The congestion monitor of live load (thresholds, hysteresis, staleness)."""
    return LoadMonitor(
        CongestionPolicy(
            thresholds=settings.congestion.level_thresholds,
            hysteresis=settings.hysteresis,
            min_duration=timedelta(seconds=settings.min_duration_s),
        ),
        stale_after=timedelta(seconds=settings.stale_after_s),
        retention=timedelta(hours=settings.load_retention_h),
    )


def bootstrap(settings: Settings) -> Runtime:
    """Builds the app, its topics, agents and pages. Group id = topic prefix + id."""
    # Faust creates only the last level of its data directory.
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.kafka.topic_prefix + APP_ID, **faust_options(settings))
    ctx = Context(settings=settings, topics=bind(app, settings.kafka))
    ctx.pipeline = pipeline_for(settings, ctx.territory)
    ctx.monitor = monitor_for(settings)
    agents.register(app, ctx)
    web.register(app, ctx)
    return Runtime(app, ctx)


@contextlib.asynccontextmanager
async def rebuilding(
    settings: Settings, *, pool: asyncpg.Pool | None = None
) -> AsyncIterator[tuple[asyncpg.Pool, Pipeline]]:
    """The rebuild's pool and pipeline (territory loaded from PostgreSQL)."""
    own = pool is None
    if pool is None:
        pool = await asyncpg.create_pool(
            settings.postgres.dsn.get_secret_value(), min_size=1, max_size=2
        )  # two: the automatic rebuild holds its advisory lock on one
    try:
        territory = Territory()
        async with pool.acquire() as conn:
            await territory.load(conn)
        yield pool, pipeline_for(settings, territory)
    finally:
        if own:
            await pool.close()
