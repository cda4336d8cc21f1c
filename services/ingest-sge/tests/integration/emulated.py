"""What ingest-sge's integration tests do to emulators/sge, written once: the
zeep client's configuration for it, the collector's settings on its SFTP drop,
a point subscribed and a night passed over mutual TLS.

Why a module and not fixtures: each test builds these at its own moment (after
seeding consents, with another contract, before or after a night), so they are
plain functions the tests call.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx

from energy_core import topics
from energy_core.domain import ReadingBatch
from energy_core.wire import batch_from_proto, decode_batch
from ingest_sge.client.soap import SoapConfig
from ingest_sge.settings import Settings
from sen1_stack.topic_reader import drain
from sge_emulator import Emulator, client_ssl_context
from sge_emulator.settings import DEMO_CONTRACT, DEMO_LOGIN, SFTP_PASSWORD, SFTP_USER
from sge_emulator.testing import SAD_PATH, SOAP_HEADERS, access_services_order

WSDL_DIR = Path(__file__).resolve().parents[1] / "wsdl"
TODAY = date(2026, 11, 23)
"""The emulated day of the tests that fix one (a Monday, a 24-hour day)."""


def soap_config(emulator: Emulator, contract: str = DEMO_CONTRACT) -> SoapConfig:
    """The zeep client on the emulator's demo account, over its mutual TLS."""
    pki = emulator.pki
    return SoapConfig(
        base_url=emulator.base_url,
        wsdl_dir=WSDL_DIR,
        login=DEMO_LOGIN,
        contract_id=contract,
        cert_file=pki.client_pem,
        key_file=pki.client_key,
        ca_file=pki.ca_pem,
    )


def drop_settings(
    emulator: Emulator, spool: Path, kafka: Any, postgres: Any
) -> Settings:
    """ingest-sge's settings with its collector on the emulator's SFTP drop (no
    SOAP kit: ``runtime.portfolio`` is None); files are taken at once."""
    return Settings(
        kafka=kafka,
        postgres=postgres,
        sftp_host=emulator.settings.host,
        sftp_port=emulator.settings.sftp_port,
        sftp_username=SFTP_USER,
        sftp_password=SFTP_PASSWORD,  # type: ignore[arg-type]
        flux_keys=emulator.settings.keys,  # type: ignore[arg-type]
        sftp_remote_dir=".",
        spool_dir=spool,
        settle_s=0,
    )


def mtls(emulator: Emulator) -> httpx.AsyncClient:
    """An HTTP client holding the emulator's client certificate."""
    return httpx.AsyncClient(
        base_url=emulator.base_url, verify=client_ssl_context(emulator.pki), timeout=30
    )


async def subscribe(client: httpx.AsyncClient, prm: str, kind: str = "CDC") -> None:
    """commanderServicesAccesDonnees for ``prm`` (the access-services model)."""
    answer = await client.post(
        SAD_PATH, content=access_services_order(prm, kind), headers=SOAP_HEADERS
    )
    assert answer.status_code == 200, answer.text


async def advance(client: httpx.AsyncClient) -> list[str]:
    """One emulated night; the names of the files it dropped."""
    night = await client.post("/_emulator/advance", params={"nights": 1})
    assert night.status_code == 200
    files: list[str] = night.json()["files"]
    return files


def soap_kit(emulator: Emulator, login: str = DEMO_LOGIN) -> dict[str, Any]:
    """ingest-sge's ``soap_*`` settings for the emulator's account (``login`` on
    the demo contract, the emulator's client certificate and CA): with them
    bootstrap() builds the SOAP client, the portfolio and the enrolment worker."""
    pki = emulator.pki
    return {
        "soap_base_url": emulator.base_url,
        "soap_wsdl_dir": WSDL_DIR,
        "soap_login": login,
        "soap_contract_id": DEMO_CONTRACT,
        "soap_cert_file": pki.client_pem,
        "soap_key_file": pki.client_key,
        "soap_ca_file": pki.ca_pem,
    }


async def published(kafka: Any) -> list[ReadingBatch]:
    """The reading batches on the readings topic (what the collector published)."""
    records = await drain(kafka, topics.READINGS)
    return [batch_from_proto(decode_batch(r.value)) for r in records]
