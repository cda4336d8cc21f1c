"""The zeep client over real mutual TLS against a tiny in-test SOAP responder.

The responder (uvicorn, client certificate required at the handshake) answers
ConsultationMesuresDetaillees v3 the way the interop note describes it: body root
prefixed, children unqualified, no header, local times without offset, faults as
HTTP 500 with ``detail/erreur/resultat@code``. The WSDL is SEN1's own subset in
``tests/wsdl`` (the Enedis one is not shipped). The SGE emulator is not used: it
is not used here: these tests pin the client's own wire, whatever serves it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator_kit import pki
from energy_core.domain import Kind, Stamp
from energy_core.domain.time import PARIS
from energy_core.errors import ConsentRevokedError, UpstreamUnavailableError
from ingest_sge.client.answers import SearchCriteria
from ingest_sge.client.faults import (
    AuthorisationRefusedError,
    PeriodRefusedError,
    PointUnknownError,
    SearchTooBroadError,
    curve_windows,
)
from ingest_sge.client.soap import SgeSoapClient, SoapConfig
from ingest_sge.mapping.measures import curve_batch
from sen1_stack.broker import free_port

SERVER_AUTH, CLIENT_AUTH = (
    ExtendedKeyUsageOID.SERVER_AUTH,
    ExtendedKeyUsageOID.CLIENT_AUTH,
)
WSDL_DIR = Path(__file__).resolve().parents[1] / "wsdl"
COMMON = "http://www.enedis.fr/sge/b2b/services/consultationmesuresdetaillees/common"
LOGIN = "tiers@sen1.example"
C5 = "25162373298976"
NO_CONSENT = "11111111111111"
UNKNOWN = "00000000000000"


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:  # fmt: skip
    cert_file, key_file = path.with_suffix(".crt"), path.with_suffix(".key")
    cert_file.write_bytes(pki.pem(cert))
    pki.write_private_key(key_file, key)
    return cert_file, key_file


def _answer(body: bytes) -> tuple[int, bytes]:
    """What the responder says to one CMD v3 request."""
    root = etree.fromstring(body)
    demande = root.find(f".//{{{COMMON}}}consulterMesuresDetailleesV3/demande")
    assert demande is not None, "body root or unqualified children wrong"
    fields = {child.tag: child.text for child in demande}
    assert fields["initiateurLogin"] == LOGIN
    start = date.fromisoformat(fields["dateDebut"])
    end = date.fromisoformat(fields["dateFin"])
    if fields["pointId"] == UNKNOWN:
        return _fault("SGT401", "Demande non recevable : point inexistant")
    if fields["pointId"] == NO_CONSENT:
        return _fault(
            "SGT4K2",
            "Le client doit avoir donné son accord pour la transmission de ses "
            "données de mesure.",
        )
    if fields["mesuresTypeCode"] == "COURBE" and (end - start).days > 7:
        return _fault(
            "SGT4L8",
            "La durée demandée n'est pas compatible avec le type de mesure demandé",
        )
    points = []
    at = dt.datetime.combine(start, dt.time(), tzinfo=PARIS).astimezone(UTC)
    stop = dt.datetime.combine(end, dt.time(), tzinfo=PARIS).astimezone(UTC)
    while at < stop:
        at += timedelta(minutes=30)
        local = at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        points.append(
            f"<points><v>1000</v><d>{local}</d><p>PT30M</p><n>B</n><iv>0</iv><ec>0</ec></points>"
        )
    return 200, (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<ns3:consulterMesuresDetailleesResponseV3 xmlns:ns3="{COMMON}">'
        f"<pointId>{fields['pointId']}</pointId><mesuresCorrigees>BRUT</mesuresCorrigees>"
        f"<periode><dateDebut>{start}</dateDebut><dateFin>{end}</dateFin></periode>"
        "<grandeur><grandeurMetier>CONS</grandeurMetier><grandeurPhysique>PA</grandeurPhysique>"
        f"<unite>W</unite>{''.join(points)}</grandeur><modeCalcul>MESURE</modeCalcul>"
        "</ns3:consulterMesuresDetailleesResponseV3></soap:Body></soap:Envelope>"
    ).encode()


def _fault(code: str, text: str) -> tuple[int, bytes]:
    return 500, (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>{text}</faultstring>"
        '<detail><tec:erreur xmlns:tec="http://www.enedis.fr/sge/b2b/technique/v1.0">'
        f'<resultat code="{code}">{text}</resultat></tec:erreur></detail>'
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


RP = "http://www.enedis.fr/sge/b2b/services/rechercherpoint/v2.0"
ITC = "https://sge-b2b.enedis.fr/services/commandeinformationstechniquesetcontractuelles/v1"
TEC = "http://www.enedis.fr/sge/b2b/technique/v1.0"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _other_answer(path: str, body: bytes) -> tuple[int, bytes]:
    """Point search and the M023 ITC order: the header only where declared,
    unqualified children; the SIRET picks a transport failure to act."""
    root = etree.fromstring(body)
    header = root.find(f"{{{ENV}}}Header")
    headers = list(header) if header is not None else []
    if path.startswith("/CommandeInformations"):
        assert headers == [], "M023 declares no header"
        order = root.find(f".//{{{ITC}}}demandePublicationITC")
        assert order is not None
        assert order.findtext("donneesGenerales/initiateurLogin") == LOGIN
        assert len(order.findall("demande/pointIds/pointId")) == 2
        return 200, (
            f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body>'
            f'<ns3:affaireId xmlns:ns3="{ITC}">M05J6FUB</ns3:affaireId>'
            "</soap:Body></soap:Envelope>"
        ).encode()
    (entete,) = headers
    assert entete.tag == f"{{{TEC}}}entete"
    assert entete.findtext("version") == "2.0"
    assert entete.findtext("infoDemandeur/loginDemandeur") == LOGIN
    search = root.find(f".//{{{RP}}}rechercherPoint")
    assert search is not None
    siret = search.findtext("criteres/numSiret")
    if siret == "503":
        return 503, b"<html>Service Unavailable</html>"
    if siret == "500":
        return 500, b""
    if siret == "200":  # a Fault in a 200: a fault all the same (as suds reads it)
        _, fault = _fault("SGT4F8", "La recherche de points renvoie trop de résultats.")
        return 200, fault
    return 200, (
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Header>'
        f'<tec:acquittement xmlns:tec="{TEC}"><resultat code="SGT200">Succès</resultat>'
        f'</tec:acquittement></soap:Header><soap:Body><ns3:rechercherPointResponse xmlns:ns3="{RP}">'
        f'<points><point id="{C5}"><adresseInstallationNormalisee><ligne6>38130 ECHIROLLES</ligne6>'
        '</adresseInstallationNormalisee><etatContractuel code="SERVC"/></point></points>'
        "</ns3:rechercherPointResponse></soap:Body></soap:Envelope>"
    ).encode()


@dataclass
class Responder:
    url: str
    ca: Path
    client_cert: Path
    client_key: Path
    paths: list[str]


@pytest_asyncio.fixture
async def responder(tmp_path: Path) -> AsyncIterator[Responder]:
    ca = pki.new_authority("SEN1 test SGE CA", days=1)
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(pki.pem(ca.certificate))
    server = pki.issue(ca, "127.0.0.1", SERVER_AUTH, ip_addresses=["127.0.0.1"], days=1)
    server_cert, server_key_file = _write(tmp_path / "server", *server)
    client = pki.issue(ca, "tiers", CLIENT_AUTH, days=1)
    client_cert, client_key_file = _write(tmp_path / "client", *client)
    paths: list[str] = []

    async def soap(request: Request) -> Response:
        paths.append(request.url.path)
        status, body = _answer(await request.body())
        return Response(body, status, media_type="text/xml; charset=utf-8")

    async def other(request: Request) -> Response:
        paths.append(request.url.path)
        status, body = _other_answer(request.url.path, await request.body())
        return Response(body, status, media_type="text/xml; charset=utf-8")

    app = Starlette(
        routes=[
            Route("/ConsultationMesuresDetaillees/v3.0", soap, methods=["POST"]),
            Route("/RecherchePoint/v2.0", other, methods=["POST"]),
            Route(
                "/CommandeInformationsTechniquesEtContractuelles/v1.0",
                other,
                methods=["POST"],
            ),
        ]
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(server_cert),
            ssl_keyfile=str(server_key_file),
            ssl_ca_certs=str(ca_file),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
        await asyncio.sleep(0.02)
    try:
        yield Responder(
            f"https://127.0.0.1:{port}", ca_file, client_cert, client_key_file, paths
        )
    finally:
        server.should_exit = True
        await task


def _client(r: Responder, **overrides: object) -> SgeSoapClient:
    values: dict[str, object] = {
        "base_url": r.url,
        "wsdl_dir": WSDL_DIR,
        "login": LOGIN,
        "contract_id": "1111111",
        "cert_file": r.client_cert,
        "key_file": r.client_key,
        "ca_file": r.ca,
    }
    values.update(overrides)
    return SgeSoapClient(SoapConfig(**values))  # type: ignore[arg-type]


async def _curve(client: SgeSoapClient, prm: str, start: date, end: date) -> Any:
    """CMD v3's active-power load curve of ``prm`` over ``[start, end)``."""
    return await client.detailed_measures(
        prm, measure="COURBE", physical="PA", start=start, end=end
    )


async def test_a_week_of_c5_curve_over_mutual_tls(responder: Responder) -> None:
    client = _client(responder)
    try:
        answer = await _curve(client, C5, date(2026, 10, 22), date(2026, 10, 29))
    finally:
        await client.aclose()
    assert responder.paths == ["/ConsultationMesuresDetaillees/v3.0"]
    batch = curve_batch(C5, answer, end_stamped=True)
    assert batch.stamped is Stamp.END
    # 7 days, one of them the 25-hour day: 7 * 48 + 2 half-hours, none twice
    assert len(batch.readings) == 7 * 48 + 2
    assert len({r.start for r in batch.readings}) == len(batch.readings)
    first = batch.readings[0]
    assert first.kind is Kind.INTERVAL
    assert first.value == 500.0
    assert first.start == dt.datetime(2026, 10, 22, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("prm", "days", "error", "code"),
    [
        (C5, 8, PeriodRefusedError, "SGT4L8"),
        (NO_CONSENT, 1, AuthorisationRefusedError, "SGT4K2"),
        (UNKNOWN, 1, PointUnknownError, "SGT401"),
    ],
)
async def test_faults_land_in_the_error_tree(
    responder: Responder, prm: str, days: int, error: type, code: str
) -> None:
    client = _client(responder)
    start = date(2026, 4, 1)
    try:
        with pytest.raises(error) as caught:
            await _curve(client, prm, start, start + timedelta(days=days))
    finally:
        await client.aclose()
    assert caught.value.code == code
    if code == "SGT4K2":
        assert isinstance(caught.value, ConsentRevokedError)


async def test_seventeen_days_in_windows_never_breach_the_limit(
    responder: Responder,
) -> None:
    client = _client(responder)
    start = date(2026, 4, 1)
    try:
        total = 0
        for a, b in curve_windows(start, start + timedelta(days=17)):
            answer = await _curve(client, C5, a, b)
            total += len(curve_batch(C5, answer, end_stamped=True).readings)
    finally:
        await client.aclose()
    assert total == 17 * 48
    assert len(responder.paths) == 3


async def test_without_our_certificate_the_handshake_is_refused(
    responder: Responder, tmp_path: Path
) -> None:
    other_ca = pki.new_authority("another CA", days=1)
    stranger = pki.issue(other_ca, "stranger", CLIENT_AUTH, days=1)
    cert, key = _write(tmp_path / "stranger", *stranger)
    client = _client(responder, cert_file=cert, key_file=key)
    try:
        with pytest.raises(UpstreamUnavailableError):
            await _curve(client, C5, date(2026, 4, 1), date(2026, 4, 2))
    finally:
        await client.aclose()
    assert responder.paths == []


async def test_a_missing_wsdl_kit_is_named(
    responder: Responder, tmp_path: Path
) -> None:
    client = _client(responder, wsdl_dir=tmp_path)
    try:
        with pytest.raises(FileNotFoundError, match="INGEST_SGE_WSDL_DIR"):
            await _curve(client, C5, date(2026, 4, 1), date(2026, 4, 2))
    finally:
        await client.aclose()


async def test_headers_only_where_declared_and_transport_failures(
    responder: Responder,
) -> None:
    client = _client(responder)
    try:
        (point,) = await client.search_points(SearchCriteria(siret="21380151000017"))
        assert (point.prm, point.address) == (C5, ("38130 ECHIROLLES",))
        affaire = await client.order_technical_data([C5, "25000000000001"])
        assert affaire == "M05J6FUB"
        for siret in ("503", "500"):  # never a silent empty answer
            with pytest.raises(UpstreamUnavailableError, match=f"HTTP {siret}"):
                await client.search_points(SearchCriteria(siret=siret))
        with pytest.raises(SearchTooBroadError):
            await client.search_points(SearchCriteria(siret="200"))
    finally:
        await client.aclose()
