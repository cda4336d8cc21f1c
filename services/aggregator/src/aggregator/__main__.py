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

from aggregator.bootstrap import bootstrap, rebuilding
from aggregator.settings import Settings


async def _rebuild(settings: Settings, *, only_if_requested: bool = False) -> None:
    from aggregator.rebuild import rebuild, rebuild_if_requested

    async with rebuilding(settings) as (pool, pipeline):
        if only_if_requested:
            await rebuild_if_requested(pool, pipeline)
            return
        replayed = await rebuild(pool, pipeline)
    print(f"rollups rebuilt from {replayed} stored readings")


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
    bootstrap(settings).app.main()


if __name__ == "__main__":
    main()
