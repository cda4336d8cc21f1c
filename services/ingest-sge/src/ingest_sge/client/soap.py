"""SGE SOAP services with zeep over mutual TLS (so far: detailed measures v3).

The WSDLs are Enedis documents without a licence: they are never shipped with
SEN1. The client loads ``<stem>.wsdl`` (e.g. ``ConsultationMesuresDetaillees-v3.0``)
from the operator's SGE kit folder (``wsdl_dir``) and sends to the host of the
settings (production ``https://sge-ws.enedis.fr``, homologation
``https://sge-homologation-ws.enedis.fr``, or an emulator), never to the address
written in the WSDL. TLS is mutual: the client certificate and key of the Tiers
account, and the CA bundle that signs SGE's server certificate.

SOAP 1.1, document/literal, children unqualified (as the WSDL says); CMD v3
declares no header, so none is sent. A refusal is a SOAP fault whose
``detail/erreur/resultat@code`` is mapped by :mod:`.faults`; a transport failure
(TLS refused, connection reset, 503) is an ``UpstreamUnavailableError``. The
client returns the response as plain dicts and lists (the mapping reads them).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import zeep
from lxml import etree
from zeep.exceptions import Fault, TransportError
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from energy_core.errors import UpstreamUnavailableError
from ingest_sge.client.faults import error_for, parse_fault

PRODUCTION = "https://sge-ws.enedis.fr"
HOMOLOGATION = "https://sge-homologation-ws.enedis.fr"
_CMD3 = (
    "ConsultationMesuresDetaillees-v3.0",
    "{http://www.enedis.fr/sge/b2b/services/consultationmesuresdetaillees/v3.0}"
    "AdamConsultationMesuresServiceReadSoapBinding",
    "/ConsultationMesuresDetaillees/v3.0",
)

_SAD = (
    "CommanderServicesAccesDonnees-V1.0",
    "{http://www.enedis.fr/sge/ws/commanderservicesaccesdonnees/v1.0/wsdl}"
    "CommanderServicesAccesDonneesBinding",
    "/CommandeServicesAccesDonnees/v1.0",
)
_ENTETE_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class SoapConfig:
    """Where SGE is, who we are, and the operator's WSDL kit."""

    base_url: str
    wsdl_dir: Path
    login: str
    """The Tiers account's e-mail (``initiateurLogin``/``loginDemandeur``)."""
    contract_id: str
    cert_file: Path
    key_file: Path
    ca_file: Path | None
    timeout_s: float = 30.0


def tls_context(config: SoapConfig) -> ssl.SSLContext:
    """Client TLS: SGE's CA (or the system's), our certificate and key, TLS >= 1.2."""
    context = ssl.create_default_context(
        cafile=str(config.ca_file) if config.ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.cert_file), str(config.key_file))
    return context


class SgeSoapClient:
    """One zeep client per service, sharing one mTLS HTTP client."""

    def __init__(self, config: SoapConfig, *, http: httpx.AsyncClient | None = None):
        self.config = config
        self._http = http or httpx.AsyncClient(
            verify=tls_context(config), timeout=config.timeout_s
        )
        self._wsdl_http = httpx.Client()
        self._services: dict[str, Any] = {}
        self.requests = 0

    async def aclose(self) -> None:
        """Closes the HTTP clients."""
        await self._http.aclose()
        self._wsdl_http.close()

    def _service(self, stem: str, binding: str, path: str) -> Any:
        if stem not in self._services:
            wsdl = self.config.wsdl_dir / f"{stem}.wsdl"
            if not wsdl.is_file():
                raise FileNotFoundError(
                    f"{wsdl} is missing: INGEST_SGE_WSDL_DIR must hold the SGE kit"
                )
            client = zeep.AsyncClient(  # type: ignore[no-untyped-call]
                str(wsdl),
                transport=AsyncTransport(  # type: ignore[no-untyped-call]
                    client=self._http, wsdl_client=self._wsdl_http
                ),
                settings=zeep.Settings(strict=True, xml_huge_tree=True),
            )
            address = self.config.base_url.rstrip("/") + path
            # AsyncClient.create_service() builds a *sync* proxy (zeep 4.3): the
            # async proxy is built by hand on the binding, at the configured host
            self._services[stem] = AsyncServiceProxy(  # type: ignore[no-untyped-call]
                client, client.wsdl.bindings[binding], address=address
            )
        return self._services[stem]

    async def _call(
        self, service: Any, operation: str, *, success: str = "", **body: Any
    ) -> Any:
        """One call; a fault whose code is ``success`` (SGT570) returns None."""
        self.requests += 1
        try:
            result = await getattr(service, operation)(**body)
        except Fault as fault:
            code, text = _fault_code(fault)
            if code and code == success:
                return None
            raise error_for(code or "SGT500", text or str(fault.message)) from None
        except TransportError as exc:
            raise UpstreamUnavailableError(
                f"SGE answered HTTP {exc.status_code}"
            ) from exc
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            raise UpstreamUnavailableError(
                f"SGE unreachable: {type(exc).__name__}"
            ) from exc
        return serialize_object(result, dict)  # type: ignore[no-untyped-call]

    async def detailed_measures(
        self,
        prm: str,
        *,
        measure: str,
        physical: str,
        start: date,
        end: date,
        direction: str = "SOUTIRAGE",
        access: str = "ACCORD_CLIENT",
        corrected: bool = False,
        step: str | None = None,
    ) -> dict[str, Any]:
        """ConsultationMesuresDetaillees v3: ``measure`` COURBE/ENERGIE/PMAX/INDEX.

        A curve longer than 7 days is refused by SGE (SGT4L8 ->
        ``PeriodRefusedError``): cut it with :func:`~.faults.curve_windows`.
        """
        demande: dict[str, Any] = {
            "initiateurLogin": self.config.login,
            "pointId": prm,
            "mesuresTypeCode": measure,
            "grandeurPhysique": physical,
            "dateDebut": start,
            "dateFin": end,
        }
        if step is not None:
            demande["mesuresPas"] = step
        demande.update(mesuresCorrigees=corrected, sens=direction, cadreAcces=access)
        service = self._service(*_CMD3)
        answer: dict[str, Any] = await self._call(
            service, "consulterMesuresDetailleesV3", demande=demande
        )
        return answer

    async def subscribe(
        self,
        prm: str,
        *,
        data: str,
        direction: str = "SOUTIRAGE",
        period: str = "P1D",
        corrected: bool = False,
    ) -> str | None:
        """CommanderServicesAccesDonnees: daily publication of ``data`` (CDC, IDX…)
        for ``prm``; returns the subscribed service's id.

        None when SGE answers SGT570 (the service is already active on the
        period): subscribing twice is a success, not an error. The WSDL declares
        the ``entete`` header, so it is sent (version, loginDemandeur).
        """
        service = self._service(*_SAD)
        answer = await self._call(
            service,
            "commanderServicesAccesDonnees",
            success="SGT570",
            demande={
                "donneesGenerales": {
                    "pointId": prm,
                    "initiateurLogin": self.config.login,
                    "contratId": self.config.contract_id,
                    "sens": direction,
                },
                "servicesSouscrits": {
                    "serviceSouscrit": [
                        {
                            "typeDonnees": data,
                            "optionsPublication": {
                                "optionPublication": [
                                    {
                                        "mesuresCorrigees": corrected,
                                        "periodiciteTransmission": period,
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
            _soapheaders={
                "entete": {
                    "version": _ENTETE_VERSION,
                    "infoDemandeur": {"loginDemandeur": self.config.login},
                }
            },
        )
        if answer is None:
            return None
        body = answer.get("body", answer) if isinstance(answer, dict) else {}
        for affaire in (body.get("affaires") or {}).get("affaire") or ():
            subscribed = affaire.get("serviceSouscritMesures") or {}
            if subscribed.get("serviceSouscritId"):
                return str(subscribed["serviceSouscritId"])
        return ""


def _fault_code(fault: Fault) -> tuple[str, str]:
    detail = fault.detail
    if detail is None:
        return "", str(fault.message or "")
    return parse_fault(etree.tostring(detail))
