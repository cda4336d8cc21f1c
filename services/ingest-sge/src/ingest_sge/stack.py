"""What `make run` starts for ingest-sge: the flux collector (order 20).

It polls an SFTP drop on loopback (``INGEST_SGE_SFTP_*``). The SGE emulator
(its own distribution) is not wired here yet: its login and flux keys are not
part of the contract this service was built from (see the README).
"""

from __future__ import annotations

from typing import Any

from ingest_sge.settings import SERVICE_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """ingest-sge on 8015."""
    host = ctx["host"]
    service = f"http://{host}:{SERVICE_PORT}"
    return [
        {
            "name": "ingest-sge",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_sge"],
            "env": {
                "INGEST_SGE_HTTP_HOST": host,
                "INGEST_SGE_SFTP_HOST": host,
                "INGEST_SGE_SPOOL_DIR": "var/ingest-sge/spool",
            },
            "health_url": f"{service}/readyz",
            "urls": {"ingest-sge metrics": f"{service}/metrics"},
        },
    ]
