"""The SGE emulator inside a test process, and the order that subscribes a point.

Why here: the emulator's own integration tests, ingest-sge's and the
platform's end-to-end test start it the same way (SOAP and SFTP on loopback
ports, started and stopped around the test) and subscribe a point in the
access-services model with the same request before letting a night pass.
Ports come from the caller (tests take free ones from the dev stack), so this
module needs nothing but the emulator; an HTTP client is the caller's too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from sge_emulator import Emulator
from sge_emulator.services import SAD_NS
from sge_emulator.settings import DEMO_CONTRACT, DEMO_LOGIN, EmulatorSettings
from sge_emulator.soap import SOAP_ENV

SAD_PATH = "/CommandeServicesAccesDonnees/v1.0"
"""Where :func:`access_services_order` is posted (over mutual TLS)."""
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


@contextlib.asynccontextmanager
async def running(
    state_dir: Path, port: Callable[[], int], **overrides: object
) -> AsyncIterator[Emulator]:
    """The emulator with SOAP and SFTP on ``port()`` ports until the block ends.

    ``overrides`` are :class:`EmulatorSettings` fields (``start_date`` for a
    fixed emulated day, ``proxy_port`` for the CONNECT proxy, ...); without a
    ``start_date`` the emulated day is today.
    """
    values: dict[str, object] = {
        "state_dir": str(state_dir),
        "soap_port": port(),
        "sftp_port": port(),
        **overrides,
    }
    emulator = Emulator(EmulatorSettings(**values))  # type: ignore[arg-type]
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def access_services_order(prm: str, kind: str = "CDC") -> bytes:
    """commanderServicesAccesDonnees for ``prm``: one ``kind`` service published
    daily (P1D), on the demo account, as SGE wants it (the soap body of
    :data:`SAD_PATH`)."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{SAD_NS}">'
        "<SOAP-ENV:Header/><SOAP-ENV:Body><ns1:commanderServicesAccesDonnees>"
        f"<demande><donneesGenerales><pointId>{prm}</pointId>"
        f"<initiateurLogin>{DEMO_LOGIN}</initiateurLogin><contratId>{DEMO_CONTRACT}</contratId>"
        "<sens>SOUTIRAGE</sens></donneesGenerales><servicesSouscrits><serviceSouscrit>"
        f"<typeDonnees>{kind}</typeDonnees><optionsPublication><optionPublication>"
        "<periodiciteTransmission>P1D</periodiciteTransmission></optionPublication>"
        "</optionsPublication></serviceSouscrit></servicesSouscrits></demande>"
        "</ns1:commanderServicesAccesDonnees></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
