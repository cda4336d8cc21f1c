"""What `make run` starts for the Data Connect emulator (``sen1.stack`` entry point).

Order 10: before ingest-enedis (order 20), whose defaults already point at it.
"""

from __future__ import annotations

from typing import Any

from enedis_emulator.settings import EMULATOR_PORT

DEMO_QUOTAS = {
    "ENEDIS_EMULATOR_REQUESTS_PER_SECOND": "200",
    "ENEDIS_EMULATOR_REQUESTS_PER_HOUR": "720000",
}
"""``make run``'s demo mode (``ctx["demo_mode"]``): the same rates ingest-enedis'
stack entry uses; the real Data Connect quotas (5/s, 10,000/h) stay the defaults."""


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The Data Connect emulator on 8092."""
    host = ctx["host"]
    url = f"http://{host}:{EMULATOR_PORT}"
    return [
        {
            "name": "enedis-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "enedis_emulator"],
            "env": {
                "ENEDIS_EMULATOR_HTTP_HOST": host,
                **(DEMO_QUOTAS if ctx.get("demo_mode") else {}),
            },
            "health_url": f"{url}/healthz",
            "urls": {"Enedis Data Connect emulator": url},
        }
    ]
