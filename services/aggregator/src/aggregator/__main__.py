"""``python -m aggregator worker -l info`` (Faust's CLI; settings from the env).

``python -m aggregator rebuild`` recomputes every rollup from the stored readings
(workers stopped; see :mod:`aggregator.rebuild`).
"""

from __future__ import annotations

import asyncio
import sys

from aggregator.bootstrap import bootstrap, rebuilding
from aggregator.settings import Settings


async def _rebuild(settings: Settings) -> None:
    from aggregator.rebuild import rebuild

    async with rebuilding(settings) as (pool, pipeline):
        replayed = await rebuild(pool, pipeline)
    print(f"rollups rebuilt from {replayed} stored readings")


def main() -> None:
    """Builds the settings once, then hands over to Faust's command line."""
    settings = Settings()
    if sys.argv[1:2] == ["rebuild"]:
        asyncio.run(_rebuild(settings))
        return
    bootstrap(settings).app.main()


if __name__ == "__main__":
    main()
