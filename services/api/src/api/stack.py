"""What `make run` starts for the api (``sen1.stack`` entry point, order 40)."""

from __future__ import annotations

from typing import Any

HTTP_PORT = 8000


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The api with demo accounts (printed at start-up) on plain loopback HTTP."""
    url = f"http://{ctx['host']}:{HTTP_PORT}"
    return [
        {
            "name": "api",
            "order": 40,
            "argv": [ctx["python"], "-m", "api"],
            "env": {
                "API_HTTP_PORT": HTTP_PORT,
                "API_HTTP_HOST": ctx["host"],
                "API_DEMO": "true",
                "API_COOKIE_SECURE": "false",
                "API_LOG_JSON": "false",
            },
            "health_url": f"{url}/readyz",
            "urls": {"SEN1 dashboard": f"{url}/", "api docs (OpenAPI)": f"{url}/docs"},
        }
    ]
