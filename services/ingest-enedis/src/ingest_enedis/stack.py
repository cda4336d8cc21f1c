"""What `make run` starts for ingest-enedis: the collector (order 20).

The Data Connect emulator (order 10) is announced by its own distribution,
``enedis-emulator``; the collector is pointed at it here.
"""

from __future__ import annotations

from typing import Any

from ingest_enedis.settings import EMULATOR_PORT, SERVICE_PORT

DEMO_MODE = {
    "INGEST_ENEDIS_REQUESTS_PER_SECOND": "200",
    "INGEST_ENEDIS_REQUESTS_PER_HOUR": "720000",
    "INGEST_ENEDIS_WORKERS": "16",
    "INGEST_ENEDIS_DAILY_HISTORY_MONTHS": "12",
    "INGEST_ENEDIS_CURVE_HISTORY_MONTHS": "2",
}
"""``make run``'s demo mode (``ctx["demo_mode"]``): the emulator's demo quotas, a
year of daily data (fetched first for every PRM) and two months of curves (a
year of curves for every demo PRM is ~10 M readings, more than a laptop ingests
in a minute). Production keeps the defaults (5/s, 36 and 24 months)."""


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """ingest-enedis on 8012, talking to the emulator on 8092."""
    host = ctx["host"]
    emulator = f"http://{host}:{EMULATOR_PORT}"
    service = f"http://{host}:{SERVICE_PORT}"
    return [
        {
            "name": "ingest-enedis",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_enedis"],
            "env": {
                "INGEST_ENEDIS_HTTP_HOST": host,
                "INGEST_ENEDIS_BASE_URL": emulator,
                "INGEST_ENEDIS_TOKEN_URL": f"{emulator}/oauth2/v3/token",
                **(DEMO_MODE if ctx.get("demo_mode") else {}),
            },
            "health_url": f"{service}/readyz",
            "urls": {"ingest-enedis metrics": f"{service}/metrics"},
        },
    ]
