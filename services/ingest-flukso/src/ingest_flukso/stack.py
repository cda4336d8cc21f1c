"""What `make run` starts for ingest-flukso (``sen1.stack`` entry point).

Order 20, ops on 8011: after the Flukso emulator (order 10, its own distribution
``flukso-emulator``), whose flukso.net API on 8091 it backfills from.
"""

from __future__ import annotations

from typing import Any

EMULATOR_PORT = 8091
"""The flukso.net emulator of `make run` (flukso_emulator.settings.EMULATOR_PORT)."""
INGEST_PORT = 8011


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The ingest service."""
    host = ctx["host"]
    api = f"http://{host}:{EMULATOR_PORT}"
    ops = f"http://{host}:{INGEST_PORT}"
    return [
        {
            "name": "ingest-flukso",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_flukso"],
            "env": {
                "INGEST_FLUKSO_HTTP_HOST": host,
                "INGEST_FLUKSO_HTTP_PORT": INGEST_PORT,
                "INGEST_FLUKSO_API_URL": api,
                # kept beside the PostgreSQL data (which keeps the readings)
                "INGEST_FLUKSO_HISTORY_STATE_FILE": (
                    f"{ctx.get('var_dir', '.var')}/ingest-flukso/history.json"
                ),
            },
            "health_url": f"{ops}/readyz",
            "urls": {"ingest-flukso metrics": f"{ops}/metrics"},
        },
    ]
