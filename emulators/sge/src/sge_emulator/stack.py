"""What `make run` starts for SGE: the emulator (order 10), one night every 10 minutes.

The ingest service (ingest-sge) connects to it with the client certificate the
emulator writes into its state folder at first start.
"""

from __future__ import annotations

from typing import Any

from sge_emulator.__main__ import HEALTH_PORT
from sge_emulator.settings import SFTP_PORT, SOAP_PORT


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The SGE emulator: SOAP on 8095 (mTLS), SFTP on 8096, plain health on 8097."""
    host = ctx["host"]
    return [
        {
            "name": "sge-emulator",
            "order": 10,
            "argv": [ctx["python"], "-m", "sge_emulator"],
            "env": {
                "SGE_EMULATOR_HOST": host,
                "SGE_EMULATOR_STATE_DIR": f"{ctx.get('var_dir', '.var')}/sge-emulator",
                "SGE_EMULATOR_NIGHT_EVERY_S": "600",
                "SGE_EMULATOR_AUTOSUBSCRIBE_DEMO": "true",
            },
            "health_url": f"http://{host}:{HEALTH_PORT}/healthz",
            "urls": {
                "SGE emulator (SOAP, mTLS)": f"https://{host}:{SOAP_PORT}/",
                "SGE emulator (SFTP drop)": f"sftp://{host}:{SFTP_PORT}/",
            },
        }
    ]
