"""What `make run` starts for Flukso (``sen1.stack`` entry point).

The emulator (order 10) plays the demo devices on the stack's MQTT broker and
serves flukso.net on 8091; ingest-flukso (order 20, ops on 8011) follows them.
"""

from __future__ import annotations

from typing import Any

EMULATOR_PORT = 8091
INGEST_PORT = 8011


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The emulator and the ingest service."""
    host = ctx["host"]
    api = f"http://{host}:{EMULATOR_PORT}"
    ops = f"http://{host}:{INGEST_PORT}"
    return [
        {
            "name": "flukso-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "flukso_emulator"],
            "env": {
                "FLUKSO_EMULATOR_HTTP_HOST": host,
                "FLUKSO_EMULATOR_HTTP_PORT": EMULATOR_PORT,
            },
            "health_url": f"{api}/healthz",
            "urls": {"flukso.net emulator": f"{api}/sensor/<sid>?interval=hour"},
        },
        {
            "name": "ingest-flukso",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_flukso"],
            "env": {
                "INGEST_FLUKSO_HTTP_HOST": host,
                "INGEST_FLUKSO_HTTP_PORT": INGEST_PORT,
                "INGEST_FLUKSO_API_URL": api,
            },
            "health_url": f"{ops}/readyz",
            "urls": {"ingest-flukso metrics": f"{ops}/metrics"},
        },
    ]
