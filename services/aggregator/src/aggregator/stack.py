"""What ``make run`` starts for the aggregator (``sen1.stack`` entry, order 30)."""

from __future__ import annotations

from typing import Any

HTTP_PORT = 8013


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """One Faust worker; its web port serves /metrics, /healthz and /readyz."""
    url = f"http://{ctx['host']}:{HTTP_PORT}"
    return [
        {
            "name": "aggregator",
            "order": 30,
            "argv": [ctx["python"], "-m", "aggregator", "worker", "-l", "info"],
            "env": {
                "AGGREGATOR_HTTP_PORT": HTTP_PORT,
                "AGGREGATOR_HTTP_HOST": ctx["host"],
                "AGGREGATOR_DATA_DIR": f"{ctx['var_dir']}/aggregator",
            },
            "health_url": f"{url}/readyz",
            "urls": {"aggregator metrics": f"{url}/metrics"},
        }
    ]
