"""What `make run` starts for the Data Connect emulator (``sen1.stack`` entry point).

Order 10: before ingest-enedis (order 20), whose defaults already point at it.
"""

from __future__ import annotations

from typing import Any

from enedis_emulator.settings import EMULATOR_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The Data Connect emulator on 8092."""
    host = ctx["host"]
    url = f"http://{host}:{EMULATOR_PORT}"
    return [
        {
            "name": "enedis-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "enedis_emulator"],
            "env": {"ENEDIS_EMULATOR_HTTP_HOST": host},
            "health_url": f"{url}/healthz",
            "urls": {"Enedis Data Connect emulator": url},
        }
    ]
