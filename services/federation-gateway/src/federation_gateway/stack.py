"""What `make run` starts for the federation gateway (``sen1.stack`` entry point).

Two collectives, so a new user sees federation working: the demo commune's
gateway (Echirolles, on the stack's database, port 8030) and a neighbouring
commune's (Grenoble, its own database ``<db>_neighbour`` created, migrated and
seeded by the gateway itself, port 8031). Each registers the other on loopback
(keys pinned on first use: demo only) and Echirolles subscribes to Grenoble's
IRIS and commune daily rollups, which arrive as signed pushes in
``federation_peer_rollups``. Order 30: after the registry migrated the stack's
database.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from federation_gateway.demo import NEIGHBOUR_COMMUNE, NEIGHBOUR_IRIS

GATEWAY_PORT = 8030
NEIGHBOUR_PORT = 8031
DOMAIN = "echirolles.sen1.localhost"
NEIGHBOUR_DOMAIN = "grenoble.sen1.localhost"


def _neighbour_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_neighbour"))


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Both collectives' gateways."""
    host = ctx["host"]
    url = f"http://{host}:{GATEWAY_PORT}"
    neighbour = f"http://{host}:{NEIGHBOUR_PORT}"
    urns = [
        f"urn:sen1:iris:{NEIGHBOUR_IRIS[0]}_consumption/energy/active/P1D",
        f"urn:sen1:commune:{NEIGHBOUR_COMMUNE[0]}_consumption/energy/active/P1D",
    ]
    return [
        {
            "name": "federation-gateway",
            "order": 30,
            "argv": [ctx["python"], "-m", "federation_gateway"],
            "env": {
                "FEDERATION_GATEWAY_HTTP_HOST": host,
                "FEDERATION_GATEWAY_HTTP_PORT": GATEWAY_PORT,
                "FEDERATION_GATEWAY_DOMAIN": DOMAIN,
                "FEDERATION_GATEWAY_PUBLIC_URL": url,
                "FEDERATION_GATEWAY_DEMO_PEERS": json.dumps(
                    [{"domain": NEIGHBOUR_DOMAIN, "url": neighbour, "subscribe": urns}]
                ),
            },
            "health_url": f"{url}/readyz",
            "urls": {"federation JWKS (Echirolles)": f"{url}/.well-known/jwks.json"},
        },
        {
            "name": "federation-neighbour",
            "order": 30,
            "argv": [ctx["python"], "-m", "federation_gateway"],
            "env": {
                "POSTGRES_DSN": _neighbour_dsn(ctx["postgres_dsn"]),
                "FEDERATION_GATEWAY_HTTP_HOST": host,
                "FEDERATION_GATEWAY_HTTP_PORT": NEIGHBOUR_PORT,
                "FEDERATION_GATEWAY_DOMAIN": NEIGHBOUR_DOMAIN,
                "FEDERATION_GATEWAY_PUBLIC_URL": neighbour,
                "FEDERATION_GATEWAY_DEMO_NEIGHBOUR_DATABASE": "true",
                "FEDERATION_GATEWAY_DEMO_PEERS": json.dumps(
                    [{"domain": DOMAIN, "url": url}]
                ),
            },
            "health_url": f"{neighbour}/readyz",
            "urls": {
                "federation JWKS (Grenoble)": f"{neighbour}/.well-known/jwks.json"
            },
        },
    ]
