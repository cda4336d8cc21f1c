"""What `make run` starts for the Flukso emulator (``sen1.stack`` entry point).

Order 10: the demo devices play on the stack's MQTT broker and flukso.net is
served on 8091 before ingest-flukso (order 20) follows them.
"""

from __future__ import annotations

from typing import Any

from flukso_emulator.settings import EMULATOR_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The device emulator and its flukso.net REST API."""
    host = ctx["host"]
    api = f"http://{host}:{EMULATOR_PORT}"
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
        }
    ]
