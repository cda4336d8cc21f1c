"""What `make run` starts for the federation gateway (``sen1.stack`` entry point).

Order 30: after the registry has migrated the database. One collective in `make
run` for now (the second collective is described in the README, not started yet).
"""

from __future__ import annotations

from typing import Any

GATEWAY_PORT = 8030


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The gateway of the demo collective."""
    host = ctx["host"]
    url = f"http://{host}:{GATEWAY_PORT}"
    return [
        {
            "name": "federation-gateway",
            "order": 30,
            "argv": [ctx["python"], "-m", "federation_gateway"],
            "env": {
                "FEDERATION_GATEWAY_HTTP_HOST": host,
                "FEDERATION_GATEWAY_HTTP_PORT": GATEWAY_PORT,
                "FEDERATION_GATEWAY_PUBLIC_URL": url,
            },
            "health_url": f"{url}/readyz",
            "urls": {"federation JWKS": f"{url}/.well-known/jwks.json"},
        },
    ]
