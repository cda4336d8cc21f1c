"""``python -m aggregator worker -l info`` (Faust's CLI; settings from the env).

``python -m aggregator rebuild`` recomputes every rollup from the stored readings
(workers stopped; see :mod:`aggregator.rebuild`). A worker first runs the rebuild a
migration asked for (``aggregator_pending_rebuilds``), so an upgrade needs no
manual step.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import asyncpg

from aggregator.app import create_app
from aggregator.settings import Settings


async def _rebuild(settings: Settings, *, only_if_requested: bool = False) -> None:
    from aggregator.pipeline import Pipeline
    from aggregator.rebuild import rebuild, rebuild_if_requested
    from aggregator.territory import Territory

    pool = await asyncpg.create_pool(
        settings.postgres.dsn.get_secret_value(), min_size=1, max_size=2
    )
    try:
        territory = Territory()
        async with pool.acquire() as conn:
            await territory.load(conn)
        pipeline = Pipeline(territory, work_mem_mb=settings.work_mem_mb)
        if only_if_requested:
            await rebuild_if_requested(pool, pipeline)
            return
        replayed = await rebuild(pool, pipeline)
        print(f"rollups rebuilt from {replayed} stored readings")
    finally:
        await pool.close()


def main() -> None:
    """Builds the settings once, then hands over to Faust's command line."""
    settings = Settings()
    if sys.argv[1:2] == ["rebuild"]:
        asyncio.run(_rebuild(settings))
        return
    if sys.argv[1:2] == ["worker"]:
        try:
            asyncio.run(_rebuild(settings, only_if_requested=True))
        except (OSError, asyncpg.PostgresError) as exc:
            # PostgreSQL down: the workers start anyway (their /readyz says so);
            # the marker stays and the next start rebuilds.
            logging.getLogger("aggregator").warning(
                "pending rollup rebuild not checked: %s", exc
            )
    app, _ = create_app(settings)
    app.main()


if __name__ == "__main__":
    main()
