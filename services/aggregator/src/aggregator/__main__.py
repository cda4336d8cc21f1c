"""``python -m aggregator worker -l info`` (Faust's CLI; settings from the env).

``python -m aggregator rebuild`` recomputes every rollup from the stored readings
(workers stopped; see :mod:`aggregator.rebuild`).
"""

from __future__ import annotations

import asyncio
import sys

from aggregator.app import create_app
from aggregator.settings import Settings


async def _rebuild(settings: Settings) -> None:
    import asyncpg

    from aggregator.pipeline import Pipeline
    from aggregator.rebuild import rebuild
    from aggregator.territory import Territory

    pool = await asyncpg.create_pool(
        settings.postgres.dsn.get_secret_value(), min_size=1, max_size=1
    )
    try:
        territory = Territory()
        async with pool.acquire() as conn:
            await territory.load(conn)
        pipeline = Pipeline(territory, work_mem_mb=settings.work_mem_mb)
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
    app, _ = create_app(settings)
    app.main()


if __name__ == "__main__":
    main()
