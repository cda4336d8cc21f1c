"""SGE SOAP services with zeep over mutual TLS.

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
from collections.abc import Sequence
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

from energy_core.errors import PayloadInvalidError, UpstreamUnavailableError
from ingest_sge.client import answers
from ingest_sge.client.faults import error_for, parse_fault

PRODUCTION = "https://sge-ws.enedis.fr"
HOMOLOGATION = "https://sge-homologation-ws.enedis.fr"


@dataclass(frozen=True, slots=True)
class _Spec:
    """One SGE service: the kit's WSDL stem, its operation, its path, its header.

    ``entete`` is the version the ``entete`` header carries, or None when the
    WSDL declares no header (CMD v3, M023): then none is sent.
    """

    stem: str
    operation: str
    path: str
    entete: str | None


_CMD3 = _Spec(
    "ConsultationMesuresDetaillees-v3.0",
    "consulterMesuresDetailleesV3",
    "/ConsultationMesuresDetaillees/v3.0",
    None,
)
_SAD = _Spec(
    "CommanderServicesAccesDonnees-V1.0",
    "commanderServicesAccesDonnees",
    "/CommandeServicesAccesDonnees/v1.0",
    "1.0",
)
_ADP = _Spec(
    "ConsultationDonneesTechniquesContractuelles-v1.0",
    "consulterDonneesTechniquesContractuelles",
    "/ConsultationDonneesTechniquesContractuelles/v1.0",
    "1.0",
)
_AHC = _Spec(
    "ConsultationMesures-v1.1", "consulterMesures", "/ConsultationMesures/v1.1", "1.1"
)
_RP = _Spec("RecherchePoint-v2.0", "rechercherPoint", "/RecherchePoint/v2.0", "2.0")
_CCPM = _Spec(
    "CommandeCollectePublicationMesures-v3.0",
    "commanderCollectePublicationMesures",
    "/CommandeCollectePublicationMesures/v3.0",
    "3.0",
)
_RSSM = _Spec(
    "RechercherServicesSouscritsMesures-v1.0",
    "rechercherServicesSouscritsMesures",
    "/RechercheServicesSouscritsMesures/v1.0",
    "1.0",
)
_ASS = _Spec(
    "CommandeArretServiceSouscritMesures-v1.0",
    "commanderArretServiceSouscritMesures",
    "/CommandeArretServiceSouscritMesures/v1.0",
    "1.0",
)
_MFI = _Spec(
    "B2B_M023MFI",
    "commandeHistoriqueDonneesMesuresFines",
    "/CommandeHistoriqueDonneesMesuresFines/v1.0",
    None,
)
_MFA = _Spec(
    "B2B_M023MFA",
    "commandeHistoriqueDonneesMesuresFacturantes",
    "/CommandeHistoriqueDonneesMesuresFacturantes/v1.0",
    None,
)
_ITC = _Spec(
    "B2B_M023ITC",
    "commandeInformationsTechniquesEtContractuelles",
    "/CommandeInformationsTechniquesEtContractuelles/v1.0",
    None,
)
M023_MAX_POINTS = 10_000
"""The M023 XSD's bound on ``pointIds/pointId``."""


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

    def _service(self, spec: _Spec, *, raw: bool = False) -> Any:
        """The async proxy of ``spec``'s operation at the configured host.

        The binding is found by its operation, not by name, so the operator's
        Enedis kit and SEN1's own subset both work. ``raw``: zeep builds and
        validates the request from the WSDL, and the answer's XML is returned
        as it came (read by :mod:`.answers`), whatever the kit says of it.
        """
        key = f"{spec.stem}:{raw}"
        if key not in self._services:
            wsdl = self.config.wsdl_dir / f"{spec.stem}.wsdl"
            if not wsdl.is_file():
                raise FileNotFoundError(
                    f"{wsdl} is missing: INGEST_SGE_WSDL_DIR must hold the SGE kit"
                )
            client = zeep.AsyncClient(  # type: ignore[no-untyped-call]
                str(wsdl),
                transport=AsyncTransport(  # type: ignore[no-untyped-call]
                    client=self._http, wsdl_client=self._wsdl_http
                ),
                settings=zeep.Settings(
                    strict=True, xml_huge_tree=True, raw_response=raw
                ),
            )
            bindings = [
                binding
                for binding in client.wsdl.bindings.values()
                if spec.operation in binding.all()  # type: ignore[no-untyped-call]
            ]
            if not bindings:
                raise LookupError(f"{wsdl} has no operation {spec.operation}")
            address = self.config.base_url.rstrip("/") + spec.path
            # AsyncClient.create_service() builds a *sync* proxy (zeep 4.3): the
            # async proxy is built by hand on the binding, at the configured host
            self._services[key] = AsyncServiceProxy(  # type: ignore[no-untyped-call]
                client, bindings[0], address=address
            )
        return self._services[key]

    def _entete(self, spec: _Spec) -> dict[str, Any]:
        """The ``entete`` header where the WSDL declares one, else nothing."""
        if spec.entete is None:
            return {}
        return {
            "_soapheaders": {
                "entete": {
                    "version": spec.entete,
                    "infoDemandeur": {"loginDemandeur": self.config.login},
                }
            }
        }

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

    async def _call_raw(
        self, spec: _Spec, body: dict[str, Any], *, success: str = ""
    ) -> etree._Element | None:
        """One call whose answer is read from its XML: the body's root element.

        HTTP 200 -> the root; HTTP 500 -> the fault's code through
        :func:`~.faults.error_for` (None when it is ``success``); any other
        status or a broken connection -> ``UpstreamUnavailableError``. A 200
        whose body holds a Fault is a fault too (as suds reads it).
        """
        service = self._service(spec, raw=True)
        self.requests += 1
        try:
            response = await getattr(service, spec.operation)(
                **body, **self._entete(spec)
            )
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            raise UpstreamUnavailableError(
                f"SGE unreachable: {type(exc).__name__}"
            ) from exc
        content: bytes = response.content or b""
        if response.status_code not in (200, 500) or not content:
            raise UpstreamUnavailableError(f"SGE answered HTTP {response.status_code}")
        root = answers.body_root(content)
        if response.status_code == 500 or etree.QName(root).localname == "Fault":
            code, text = parse_fault(content)
            if code and code == success:
                return None
            raise error_for(code or "SGT500", text or "SOAP fault without a code")
        return root

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
        service = self._service(_CMD3)
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
        service = self._service(_SAD)
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
            **self._entete(_SAD),
        )
        if answer is None:
            return None
        body = answer.get("body", answer) if isinstance(answer, dict) else {}
        for affaire in (body.get("affaires") or {}).get("affaire") or ():
            subscribed = affaire.get("serviceSouscritMesures") or {}
            if subscribed.get("serviceSouscritId"):
                return str(subscribed["serviceSouscritId"])
        return ""

    async def _answer(self, spec: _Spec, body: dict[str, Any]) -> etree._Element:
        """:meth:`_call_raw` for a service where no fault code is a success."""
        root = await self._call_raw(spec, body)
        if root is None:  # only a ``success`` code returns None
            raise PayloadInvalidError(f"SGE {spec.operation}: no answer")
        return root

    # ------------------------------------------------------------ points

    async def technical_data(
        self, prm: str, *, authorised: bool = True
    ) -> answers.TechnicalData:
        """ConsultationDonneesTechniquesContractuelles v1.0 (ADP) of ``prm``.

        ``authorised`` sends ``autorisationClient=true``: SGE answers the
        contractual part (tariff structure, subscribed power) only then. The
        caller asserts the customer's authorisation: check the consent
        registry first (:class:`~ingest_sge.reader.MeasuresReader`).
        """
        body: dict[str, Any] = {"pointId": prm, "loginUtilisateur": self.config.login}
        if authorised:
            body["autorisationClient"] = True
        root = await self._answer(_ADP, body)
        return answers.technical_data(root)

    async def measures_history(
        self, prm: str, *, authorised: bool = True
    ) -> list[answers.HistoryMeasure]:
        """ConsultationMesures v1.1 (AHC): the billing-grade history (monthly
        energies, up to 12 months, bounded by the last commissioning).

        Without the customer's authorisation SGE answers SGT4G2, mapped to an
        ``AuthorisationRefusedError``.
        """
        body: dict[str, Any] = {
            "pointId": prm,
            "loginDemandeur": self.config.login,
            "contratId": self.config.contract_id,
            "autorisationClient": authorised,
        }
        root = await self._answer(_AHC, body)
        return answers.measures_history(root)

    async def search_points(
        self, criteria: answers.SearchCriteria
    ) -> list[answers.FoundPoint]:
        """RecherchePoint v2.0: the PRMs matching ``criteria`` (at most 200).

        More than 200 -> ``SearchTooBroadError`` (SGT4F8); criteria not
        sufficient -> ``SearchCriteriaError`` (SGT4F7); no match -> ``[]``.
        """
        root = await self._answer(
            _RP,
            {"criteres": criteria.to_request(), "loginUtilisateur": self.config.login},
        )
        return answers.found_points(root)

    # ------------------------------------------------------------ subscriptions, older model

    async def collect_publish(
        self,
        prm: str,
        *,
        kind: str,
        start: date,
        end: date,
        holder: str,
        legal_person: bool = True,
        recurrent: bool = True,
        period: str = "P1D",
        step: str | None = None,
        corrected: bool = False,
        soutirage: bool = True,
        injection: bool = False,
        reference: str | None = None,
    ) -> answers.Order | None:
        """CommandeCollectePublicationMesures v3.0 (objetCode AME): collection
        of ``kind`` (CDC curve or IDX daily indexes) and, when ``recurrent``,
        its publication as flux files (R50/R4x, R151/R171) every ``period``.

        ``holder`` is who gave the agreement (``personneMorale`` for a city or
        company, ``personnePhysique`` otherwise). None when SGE answers SGT570
        (already active on the period). SGE's rules: a C5 starts today, the
        service lasts at most a year (SGT4H4), the agreement is required
        (SGT566).
        """
        person: dict[str, Any] = (
            {"personneMorale": {"denominationSociale": holder}}
            if legal_person
            else {"personnePhysique": {"nom": holder}}
        )
        access: dict[str, Any] = {
            "dateDebut": start,
            "dateFin": end,
            "declarationAccordClient": {"accord": True, **person},
            "mesuresTypeCode": kind,
            "soutirage": soutirage,
            "injection": injection,
        }
        if step is not None:
            access["mesuresPas"] = step
        access["mesuresCorrigees"] = corrected
        access["transmissionRecurrente"] = recurrent
        if recurrent:
            access["periodiciteTransmission"] = period
        general: dict[str, Any] = {}
        if reference is not None:
            general["refExterne"] = reference
        general.update(
            objetCode="AME",
            pointId=prm,
            initiateurLogin=self.config.login,
            contratId=self.config.contract_id,
        )
        root = await self._call_raw(
            _CCPM,
            {"demande": {"donneesGenerales": general, "accesMesures": access}},
            success="SGT570",
        )
        return None if root is None else answers.order(root)

    async def subscribed_services(self, prm: str) -> list[answers.SubscribedService]:
        """RechercheServicesSouscritsMesures v1.0: the measures services
        subscribed on ``prm`` under our contract (active and ended)."""
        root = await self._answer(
            _RSSM,
            {
                "criteres": {"pointId": prm, "contratId": self.config.contract_id},
                "loginUtilisateur": self.config.login,
            },
        )
        return answers.subscribed_services(root)

    async def stop_service(self, prm: str, service_id: str) -> answers.Order:
        """CommandeArretServiceSouscritMesures v1.0 (objetCode ASS): stops one
        subscribed service of ``prm`` (either model's id). An unknown or
        already stopped service is refused (SGT400)."""
        root = await self._answer(
            _ASS,
            {
                "demande": {
                    "donneesGenerales": {
                        "objetCode": "ASS",
                        "pointId": prm,
                        "initiateurLogin": self.config.login,
                        "contratId": self.config.contract_id,
                    },
                    "arretServiceSouscrit": {"serviceSouscritId": service_id},
                }
            },
        )
        return answers.order(root)

    # ------------------------------------------------------------ M023 bulk orders

    def _m023_general(self, reference: str | None) -> dict[str, Any]:
        general: dict[str, Any] = {
            "initiateurLogin": self.config.login,
            "contratId": self.config.contract_id,
        }
        if reference is not None:
            general["referenceDemandeur"] = reference
        return general

    @staticmethod
    def _point_ids(prms: Sequence[str]) -> dict[str, Any]:
        if not 1 <= len(prms) <= M023_MAX_POINTS:
            raise ValueError(f"M023 takes 1 to {M023_MAX_POINTS} PRMs, not {len(prms)}")
        return {"pointId": list(prms)}

    async def _m023_order(
        self,
        spec: _Spec,
        prms: Sequence[str],
        *,
        fmt: str,
        direction: str,
        access: str,
        reference: str | None,
        measures: dict[str, Any],
    ) -> str:
        """One M023 order: the three kinds share the request's frame (format,
        points, direction, access) and differ only in what is measured; returns
        the ``affaireId``."""
        demande = {
            "format": fmt,
            "pointIds": self._point_ids(prms),
            **measures,
            "sens": direction,
            "cadreAcces": access,
        }
        root = await self._answer(
            spec,
            {"donneesGenerales": self._m023_general(reference), "demande": demande},
        )
        return answers.affaire_id(root)

    async def order_fine_data(
        self,
        prms: Sequence[str],
        *,
        measure: str,
        start: date,
        end: date,
        direction: str = "SOUTIRAGE",
        access: str = "ACCORD_CLIENT",
        corrected: bool = False,
        fmt: str = "JSON",
        reference: str | None = None,
    ) -> str:
        """M023 MFI: the history of ``measure`` (COURBES, ENERGIE, PMAX, INDEX)
        of up to 10,000 PRMs, delivered later as R63/R64/R65/R66 files on the
        SFTP drop; returns the ``affaireId`` the file names carry. Depth: 24
        months for curves, 36 otherwise (SGT4L8)."""
        return await self._m023_order(
            _MFI,
            prms,
            fmt=fmt,
            direction=direction,
            access=access,
            reference=reference,
            measures={
                "mesuresTypeCode": measure,
                "mesuresCorrigees": corrected,
                "dateDebut": start,
                "dateFin": end,
            },
        )

    async def order_billing_data(
        self,
        prms: Sequence[str],
        *,
        start: date,
        end: date,
        direction: str = "SOUTIRAGE",
        access: str = "ACCORD_CLIENT",
        corrected: bool = False,
        fmt: str = "JSON",
        reference: str | None = None,
    ) -> str:
        """M023 MFA: billing measures of ``[start, end)``, delivered as R67 files."""
        return await self._m023_order(
            _MFA,
            prms,
            fmt=fmt,
            direction=direction,
            access=access,
            reference=reference,
            measures={
                "mesuresCorrigees": corrected,
                "dateDebut": start,
                "dateFin": end,
            },
        )

    async def order_technical_data(
        self,
        prms: Sequence[str],
        *,
        direction: str = "SOUTIRAGE",
        access: str = "ACCORD_CLIENT",
        fmt: str = "JSON",
        reference: str | None = None,
    ) -> str:
        """M023 ITC: technical and contractual data of many PRMs, delivered as
        a C68 file (a ZIP of ZIPs of JSON/CSV)."""
        return await self._m023_order(
            _ITC,
            prms,
            fmt=fmt,
            direction=direction,
            access=access,
            reference=reference,
            measures={},
        )


def _fault_code(fault: Fault) -> tuple[str, str]:
    detail = fault.detail
    if detail is None:
        return "", str(fault.message or "")
    return parse_fault(etree.tostring(detail))
