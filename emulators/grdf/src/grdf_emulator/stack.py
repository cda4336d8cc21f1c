"""What `make run` starts for GRDF: the ADICT emulator (order 10).

ingest-grdf (order 20) declares the demo PCEs against it; the holders accept
those declarations after a few seconds (the real holders answer GRDF's e-mail,
sent in 15-minute batches). The demo quota is 120 calls/s so that the demo's
PCEs have their history within a minute; the contract's 1 call/s is the
default everywhere else (tests and benchmarks set their own).
"""

from __future__ import annotations

from typing import Any

from grdf_emulator.settings import EMULATOR_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The ADICT emulator on 8094."""
    host = ctx["host"]
    emulator = f"http://{host}:{EMULATOR_PORT}"
    return [
        {
            "name": "grdf-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "grdf_emulator"],
            "env": {
                "GRDF_EMULATOR_HTTP_HOST": host,
                "GRDF_EMULATOR_HOLDER_AUTO_ACCEPT_S": "5",
                "GRDF_EMULATOR_REQUESTS_PER_SECOND": "120",
            },
            "health_url": f"{emulator}/healthz",
            "urls": {"GRDF ADICT emulator": f"{emulator}/adict/v2"},
        }
    ]
