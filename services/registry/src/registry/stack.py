"""What `make run` starts for the registry: the outbox relay (``sen1.stack`` entry point)."""

from __future__ import annotations

from typing import Any

HTTP_PORT = 8010


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The registry relay, first of the services (order 5)."""
    url = f"http://{ctx['host']}:{HTTP_PORT}"
    return [
        {
            "name": "registry",
            "order": 5,
            "argv": [ctx["python"], "-m", "registry", "relay"],
            "env": {"REGISTRY_HTTP_PORT": HTTP_PORT, "REGISTRY_HTTP_HOST": ctx["host"]},
            "health_url": f"{url}/readyz",
            "urls": {"registry relay metrics": f"{url}/metrics"},
        }
    ]
