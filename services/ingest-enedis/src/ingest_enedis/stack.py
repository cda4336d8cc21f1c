"""What `make run` starts for Enedis: the emulator (order 10), the collector (20)."""

from __future__ import annotations

from typing import Any

from ingest_enedis.settings import EMULATOR_PORT, SERVICE_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The Data Connect emulator on 8092 and ingest-enedis on 8012."""
    host = ctx["host"]
    emulator = f"http://{host}:{EMULATOR_PORT}"
    service = f"http://{host}:{SERVICE_PORT}"
    return [
        {
            "name": "enedis-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "enedis_emulator"],
            "env": {"ENEDIS_EMULATOR_HTTP_HOST": host},
            "health_url": f"{emulator}/healthz",
            "urls": {"Enedis Data Connect emulator": emulator},
        },
        {
            "name": "ingest-enedis",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_enedis"],
            "env": {
                "INGEST_ENEDIS_HTTP_HOST": host,
                "INGEST_ENEDIS_BASE_URL": emulator,
                "INGEST_ENEDIS_TOKEN_URL": f"{emulator}/oauth2/v3/token",
                "INGEST_ENEDIS_AUTHORIZE_URL": (
                    f"{emulator}/dataconnect/v1/oauth2/authorize"
                ),
            },
            "health_url": f"{service}/readyz",
            "urls": {"ingest-enedis metrics": f"{service}/metrics"},
        },
    ]
