"""What `make run` starts for GRDF: the ADICT emulator (order 10).

The ingest service that collects from it comes later; until then the emulator
runs alone, with its holders accepting declarations after a few seconds (the
real holders answer GRDF's e-mail, sent in 15-minute batches).
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
            },
            "health_url": f"{emulator}/healthz",
            "urls": {"GRDF ADICT emulator": f"{emulator}/adict/v2"},
        }
    ]
