"""What `make run` starts for ingest-sge: the flux collector (order 20).

It polls the SGE emulator's SFTP drop (its own distribution, order 10, port
8096) with the emulator's public demo login and flux keys, every minute (the
emulator lets a night pass every ten minutes under `make run`). In a source
checkout it also speaks SOAP to the emulator (port 8095, mutual TLS with the
certificate the emulator writes into its state folder, SEN1's own schema subset
of ``tests/wsdl`` as the "kit"), so the enrolment worker enrols the sites
managers and cities register on the demo's portfolio page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_sge.settings import SERVICE_PORT, SFTP_EMULATOR_PORT, SOAP_EMULATOR_PORT

_KIT = Path(__file__).resolve().parents[2] / "tests" / "wsdl"
"""SEN1's own WSDL subset (a source checkout only: Enedis' kit is not shipped)."""

# The SGE emulator's public demo secrets (never valid anywhere else).
_DEMO_SFTP_PASSWORD = "sen1-demo-sftp"  # noqa: S105
_DEMO_FLUX_KEYS = (
    "1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f,"
    "2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
)


def processes(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """ingest-sge on 8015."""
    host = ctx["host"]
    service = f"http://{host}:{SERVICE_PORT}"
    var = ctx.get("var_dir", ".var")
    soap: dict[str, str] = {}
    if _KIT.is_dir():
        pki = f"{var}/sge-emulator/pki"
        soap = {
            "INGEST_SGE_SOAP_BASE_URL": f"https://{host}:{SOAP_EMULATOR_PORT}",
            "INGEST_SGE_SOAP_WSDL_DIR": str(_KIT),
            "INGEST_SGE_SOAP_CERT_FILE": f"{pki}/client.pem",
            "INGEST_SGE_SOAP_KEY_FILE": f"{pki}/client.key",
            "INGEST_SGE_SOAP_CA_FILE": f"{pki}/ca.pem",
            "INGEST_SGE_ENROLMENT_INTERVAL_S": "10",
        }
    return [
        {
            "name": "ingest-sge",
            "order": 20,
            "argv": [ctx["python"], "-m", "ingest_sge"],
            "env": {
                "INGEST_SGE_HTTP_HOST": host,
                "INGEST_SGE_SFTP_HOST": host,
                "INGEST_SGE_SFTP_PORT": str(SFTP_EMULATOR_PORT),
                "INGEST_SGE_SFTP_USERNAME": "sen1",
                "INGEST_SGE_SFTP_PASSWORD": _DEMO_SFTP_PASSWORD,
                "INGEST_SGE_SFTP_REMOTE_DIR": ".",
                "INGEST_SGE_FLUX_KEYS": _DEMO_FLUX_KEYS,
                "INGEST_SGE_POLL_INTERVAL_S": "60",
                "INGEST_SGE_SPOOL_DIR": f"{var}/ingest-sge/spool",
                **soap,
            },
            "health_url": f"{service}/readyz",
            "urls": {"ingest-sge metrics": f"{service}/metrics"},
        },
    ]
