"""What `make run` starts for ingest-grdf: the collector (order 20).

The ADICT emulator (order 10) is announced by its own distribution; the
collector is pointed at it here, declares the demo PCEs at start, and cycles
quickly with a time-scaled quota so that the demo has gas within a minute
(production keeps 1 call/s and a daily cycle).
"""

from __future__ import annotations

from typing import Any

from ingest_grdf.settings import EMULATOR_PORT, OKTA_TOKEN_PATH, SERVICE_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """ingest-grdf on 8016, talking to the emulator on 8094."""
    host = ctx["host"]
    emulator = f"http://{host}:{EMULATOR_PORT}"
    service = f"http://{host}:{SERVICE_PORT}"
    return [
        {
            "name": "ingest-grdf",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_grdf"],
            "env": {
                "INGEST_GRDF_HTTP_HOST": host,
                "INGEST_GRDF_BASE_URL": f"{emulator}/adict/v2",
                "INGEST_GRDF_TOKEN_URL": f"{emulator}{OKTA_TOKEN_PATH}",
                "INGEST_GRDF_DECLARE_DEMO": "true",
                # the demo emulator serves 20 calls/s (its stack entry): same here
                "INGEST_GRDF_QUOTA_TIME_SCALE": "120",
                "INGEST_GRDF_CYCLE_INTERVAL_S": "5",
                "INGEST_GRDF_RIGHTS_CHECK_INTERVAL_S": "5",
                # The demo's year of history, as ingest-enedis' demo asks a year
                # of daily data: 183 PCEs x 3 years of informatives (~400,000
                # readings, ~60 CPU seconds through the emulator, ingest-grdf,
                # the aggregator and PostgreSQL) did not fit the minute beside
                # the Enedis year on 2 cores; production keeps 3 years.
                "INGEST_GRDF_INFORMATIVE_YEARS": "1",
                # one PCE's history per worker at a time: 4 left the last PCEs'
                # first readings ~40 s behind the first
                "INGEST_GRDF_WORKERS": "12",
            },
            "health_url": f"{service}/readyz",
            "urls": {"ingest-grdf metrics": f"{service}/metrics"},
        },
    ]
