"""What ``make run`` starts for the aggregator (``sen1.stack`` entry, order 30)."""

from __future__ import annotations

from typing import Any

HTTP_PORT = 8013

DEMO_MODE = {"AGGREGATOR_MAX_READINGS_PER_TRANSACTION": "50000"}
"""``make run``'s demo fill: smaller transactions commit what comes first (gas
days, daily kWh) sooner while a backlog of max power and curves waits behind
them (the demo's last PCE's gas waited for a 150,000-reading transaction)."""


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """One Faust worker; its web port serves /metrics, /healthz and /readyz."""
    url = f"http://{ctx['host']}:{HTTP_PORT}"
    return [
        {
            "name": "aggregator",
            "order": 10,
            "argv": [ctx["python"], "-m", "aggregator", "worker", "-l", "info"],
            "env": {
                "AGGREGATOR_HTTP_PORT": HTTP_PORT,
                "AGGREGATOR_HTTP_HOST": ctx["host"],
                "AGGREGATOR_DATA_DIR": f"{ctx['var_dir']}/aggregator",
                **(DEMO_MODE if ctx.get("demo_mode") else {}),
            },
            "health_url": f"{url}/readyz",
            "urls": {"aggregator metrics": f"{url}/metrics"},
        }
    ]
