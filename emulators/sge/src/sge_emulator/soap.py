"""SOAP 1.1 envelopes as SGE writes them: a prefixed body root, unqualified children.

Why by hand: the WSDL/XSD files are Enedis documents without a licence, so the
emulator carries no schema; it writes the documented element names itself. No
XSD sets ``elementFormDefault``, so every child is unqualified, and a default
``xmlns`` on the root would wrongly qualify them: ElementTree never writes one
unless asked, which is why it is used here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
TEC = "http://www.enedis.fr/sge/b2b/technique/v1.0"
DC4 = "http://www.erdf.fr/sge/b2b/dictionnaire/v4.0/dc"

ET.register_namespace("soap", SOAP_ENV)
ET.register_namespace("tec", TEC)
ET.register_namespace("dc", DC4)

MESSAGES: dict[str, str] = {
    "SGT200": "Succès",
    "SGT211": "Aucun service souscrit, accès SERVICE_ACCES refusé",
    "SGT400": "Une erreur fonctionnelle est survenue.",
    "SGT401": "Demande non recevable : point inexistant",
    "SGT4B8": "Il existe déjà plusieurs demandes en cours sur le point.",
    "SGT4F7": "Les critères renseignés ne sont pas suffisants.",
    "SGT4F8": "La recherche de points renvoie trop de résultats. Veuillez affiner les critères de recherche.",
    "SGT4G2": "Le demandeur n'est pas éligible à la consultation des données de mesures sur le point.",
    "SGT4G3": "Aucune mesure trouvée pour ce PRM",
    "SGT4H4": "La date de fin doit être renseignée et la durée demandée pour l'accès aux données de mesures ne doit pas excéder 1 an.",
    "SGT4K2": "Le client doit avoir donné son accord pour la transmission de ses données de mesure.",
    "SGT4L8": "La durée demandée n'est pas compatible avec le type de mesure demandé",
    "SGT4Q1": "Le type de mesure renseigné n'est pas conforme.",
    "SGT500": "Une erreur technique est survenue",
    "SGT562": "Problème : le message de demande est malformé",
    "SGT566": "Ce service nécessite l'accord du client.",
    "SGT570": "Le service est déjà actif sur la période demandée.",
}


class SgeFault(Exception):
    """A functional refusal: HTTP 500 with ``detail/erreur/resultat@code``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if len(code) != 6:
            raise ValueError(f"SGE result codes have 6 characters, not {code!r}")
        self.code = code
        self.message = (message or MESSAGES.get(code) or MESSAGES["SGT400"])[:255]
        super().__init__(f"{code} {self.message}")


def malformed(what: str) -> SgeFault:
    """SGT562 naming what is wrong (the real text is generic; the detail helps)."""
    return SgeFault("SGT562", f"{MESSAGES['SGT562']} : {what}")


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed envelope: the body root and the header children (if any)."""

    root: ET.Element
    headers: tuple[ET.Element, ...]

    @property
    def qname(self) -> str:
        return self.root.tag


def parse_envelope(data: bytes) -> Request:
    """The body root of a SOAP 1.1 (or 1.2, tolerated) envelope, or SGT562."""
    try:
        envelope = ET.fromstring(data)  # noqa: S314 - stdlib parser, no DTD/entities from network peers we trust less than this
    except ET.ParseError as exc:
        raise malformed("XML illisible") from exc
    for ns in (SOAP_ENV, SOAP12_ENV):
        if envelope.tag == f"{{{ns}}}Envelope":
            body = envelope.find(f"{{{ns}}}Body")
            header = envelope.find(f"{{{ns}}}Header")
            break
    else:
        raise malformed("enveloppe SOAP absente")
    if body is None or len(body) != 1:
        raise malformed("le corps SOAP doit contenir un seul élément")
    return Request(root=body[0], headers=tuple(header) if header is not None else ())


def sub(
    parent: ET.Element, tag: str, text: object | None = None, **attrib: str
) -> ET.Element:
    """An unqualified child, with its text when given."""
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text if isinstance(text, str) else _text(text)
    return element


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def text_of(parent: ET.Element, path: str, *, required: bool = True) -> str | None:
    """The stripped text at ``path`` (unqualified children), SGT562 when required and absent."""
    element = parent.find(path)
    if element is None or element.text is None or not element.text.strip():
        if required:
            raise malformed(f"élément {path} absent")
        return None
    return element.text.strip()


def req(parent: ET.Element, path: str) -> str:
    value = text_of(parent, path)
    if value is None:  # text_of raised already; this keeps the type narrow
        raise malformed(f"élément {path} absent")
    return value


def opt(parent: ET.Element, path: str) -> str | None:
    return text_of(parent, path, required=False)


def boolean(value: str | None, name: str, default: bool | None = None) -> bool:
    """An xs:boolean (``true``/``false``/``1``/``0``), SGT562 otherwise."""
    if value is None:
        if default is None:
            raise malformed(f"élément {name} absent")
        return default
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise malformed(f"{name} n'est pas un booléen")


def acquittement(
    login: str, point_id: str | None = None, affaire_id: str | None = None
) -> ET.Element:
    """The success header of the services that declare one."""
    element = ET.Element(f"{{{TEC}}}acquittement")
    sub(element, "resultat", MESSAGES["SGT200"], code="SGT200")
    if point_id is not None or affaire_id is not None:
        info = sub(element, "infoFonctionnelles")
        if point_id is not None:
            sub(info, "pointId", point_id)
        if affaire_id is not None:
            sub(info, "affaireId", affaire_id)
    sub(sub(element, "infoDemandeur"), "loginDemandeur", login)
    return element


def envelope(body: ET.Element, headers: Iterable[ET.Element] = ()) -> bytes:
    """A SOAP 1.1 envelope; a ``Header`` only when there are headers to carry."""
    root = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    header_list = list(headers)
    if header_list:
        header = ET.SubElement(root, f"{{{SOAP_ENV}}}Header")
        header.extend(header_list)
    ET.SubElement(root, f"{{{SOAP_ENV}}}Body").append(body)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def fault_envelope(fault: SgeFault, *, hdm: bool = False) -> bytes:
    """HTTP 500 body: ``detail`` holds only ``erreur``, ``resultat`` comes first in it."""
    root = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    body = ET.SubElement(root, f"{{{SOAP_ENV}}}Body")
    soap_fault = ET.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    sub(soap_fault, "faultcode", "soap:Server")
    sub(soap_fault, "faultstring", fault.message)
    detail = sub(soap_fault, "detail")
    erreur = ET.SubElement(detail, f"{{{DC4 if hdm else TEC}}}erreur")
    sub(erreur, "resultat", fault.message, code=fault.code)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
