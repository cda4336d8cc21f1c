"""SGE answers read from their XML, by element name (children are unqualified).

Why from the XML and not from zeep's objects: the client must work with the
operator's Enedis kit and with SEN1's own WSDL subset alike, and the subset
leaves answers open. zeep still builds and validates every request from the
WSDL; the answer's body root is handed here and read by the names the
contract documents (sge-interop.md §3, enedis.md §2.3). Optional parts that are
absent give None or empty tuples, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from lxml import etree

from energy_core.errors import PayloadInvalidError

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_HOURS = re.compile(r"(\d{1,2})H(\d{2})\s*-\s*(\d{1,2})H(\d{2})")


def body_root(content: bytes) -> etree._Element:
    """The single child of the SOAP Body (the answer's root, or a Fault)."""
    try:
        envelope = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PayloadInvalidError(f"SGE answer is not XML: {exc}") from exc
    for child in envelope:
        if isinstance(child.tag, str) and etree.QName(child).localname == "Body":
            elements = [e for e in child if isinstance(e.tag, str)]
            if len(elements) == 1:
                return elements[0]
    raise PayloadInvalidError("SGE answer has no single element in its SOAP Body")


def _text(parent: etree._Element | None, path: str) -> str | None:
    if parent is None:
        return None
    element = parent.find(path)
    text = element.text if element is not None else None
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()


def _code(parent: etree._Element | None, path: str) -> str | None:
    if parent is None:
        return None
    element = parent.find(path)
    if element is None:
        return None
    return element.get("code") or (element.text or "").strip() or None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError as exc:
        raise PayloadInvalidError(f"SGE number {value!r} is not a number") from exc


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value in ("true", "1")


def offpeak_ranges(text: str | None) -> tuple[str, ...]:
    """``"HC (22H30-6H30;12H30-14H30)"`` -> ``("22:30-06:30", "12:30-14:30")``.

    Local Paris wall-clock ranges, the shape SEN1 already stores contracts'
    off-peak hours in; text without hours gives nothing.
    """
    if not text:
        return ()
    return tuple(
        f"{int(h1):02d}:{m1}-{int(h2):02d}:{m2}"
        for h1, m1, h2, m2 in _HOURS.findall(text)
    )


@dataclass(frozen=True, slots=True)
class TechnicalData:
    """ConsultationDonneesTechniquesContractuelles: what SGE knows of a point.

    The contractual part (tariff structure, subscribed power) is present only
    when the call carried the customer's authorisation (``contractual``).
    """

    prm: str
    contract_state: str | None
    """``etatContractuel@code``: SERVC (in service), RESIL, ECRES, …"""
    segment: str | None
    """``C5`` or ``C1``-``C4``: C5 curves are end-stamped, C1-C4 start-stamped."""
    services_level: str | None
    street: str | None
    postcode: str | None
    insee: str | None
    commune: str | None
    tension: str | None
    """``domaineTension@code``: BTINF, BTSUP, HTA…"""
    connection_kva: float | None
    metering: str | None
    """``typeComptage@code`` (e.g. LINKY)."""
    meter_serials: tuple[str, ...]
    offpeak: tuple[str, ...]
    """Off-peak hours as local ``HH:MM-HH:MM`` ranges (empty when none)."""
    contractual: bool
    tariff_code: str | None
    """``formuleTarifaireAcheminement@code`` (e.g. BTINFCU4)."""
    tariff_label: str | None
    subscribed_power: float | None
    subscribed_power_unit: str | None
    """kVA, kVAR or kW as SGE writes it."""

    @property
    def c5(self) -> bool | None:
        """True for C5 (<= 36 kVA), False for C1-C4, None when SGE did not say."""
        return None if self.segment is None else self.segment == "C5"


def technical_data(root: etree._Element) -> TechnicalData:
    point = root.find("point")
    if point is None or not point.get("id"):
        raise PayloadInvalidError("technical data answer without point@id")
    general = point.find("donneesGenerales")
    address = general.find("adresseInstallation") if general is not None else None
    supply = point.find("situationAlimentation/alimentationPrincipale")
    metering = point.find("situationComptage")
    device = metering.find("dispositifComptage") if metering is not None else None
    meters = device.findall("compteurs/compteur") if device is not None else []
    offpeak: tuple[str, ...] = ()
    for meter in meters:
        offpeak = offpeak or offpeak_ranges(_text(meter, "plagesHeuresCreuses"))
    if not offpeak and device is not None:
        offpeak = offpeak_ranges(_text(device, "relais/plageHeuresCreuses"))
    tariff = point.find("situationContractuelle/structureTarifaire")
    formula = (
        tariff.find("formuleTarifaireAcheminement") if tariff is not None else None
    )
    return TechnicalData(
        prm=str(point.get("id")),
        contract_state=_code(general, "etatContractuel"),
        segment=_code(general, "segment"),
        services_level=_code(general, "niveauOuvertureServices"),
        street=_text(address, "numeroEtNomVoie"),
        postcode=_text(address, "codePostal"),
        insee=_code(address, "commune"),
        commune=_text(address, "commune/libelle"),
        tension=_code(supply, "domaineTension"),
        connection_kva=_number(_text(supply, "puissanceRaccordementSoutirage/valeur")),
        metering=_code(device, "typeComptage"),
        meter_serials=tuple(
            serial for m in meters if (serial := _text(m, "matricule")) is not None
        ),
        offpeak=offpeak,
        contractual=point.find("situationContractuelle") is not None,
        tariff_code=formula.get("code") if formula is not None else None,
        tariff_label=_text(formula, "libelle"),
        subscribed_power=_number(_text(tariff, "puissanceSouscriteMax/valeur")),
        subscribed_power_unit=_text(tariff, "puissanceSouscriteMax/unite"),
    )


@dataclass(frozen=True, slots=True)
class HistoryMeasure:
    """ConsultationMesures: one dated quantity, ``[start, end)`` civil dates."""

    grid: str
    """``TURPE`` (distributor grid) or ``FRN`` (supplier grid)."""
    physical: str | None
    time_class: str | None
    """BASE, HP, HC…"""
    calendar: str | None
    unit: str | None
    value: int
    start: date
    end: date
    nature: str | None
    trigger: str | None
    status: str | None


def measures_history(root: etree._Element) -> list[HistoryMeasure]:
    out: list[HistoryMeasure] = []
    for tag, grid in (
        ("seriesMesuresDateesGrilleTurpe", "TURPE"),
        ("seriesMesuresDateesGrilleFrn", "FRN"),
    ):
        for serie in root.findall(f"{tag}/serie"):
            for mesure in serie.findall("mesuresDatees/mesure"):
                value, start, end = (
                    _text(mesure, "valeur"),
                    _date(_text(mesure, "dateDebut")),
                    _date(_text(mesure, "dateFin")),
                )
                if value is None or start is None or end is None:
                    raise PayloadInvalidError("history measure without value or dates")
                out.append(
                    HistoryMeasure(
                        grid=grid,
                        physical=_code(serie, "grandeurPhysique"),
                        time_class=_code(serie, "classeTemporelle"),
                        calendar=_code(serie, "calendrier"),
                        unit=_text(serie, "unite"),
                        value=int(value),
                        start=start,
                        end=end,
                        nature=_code(mesure, "nature"),
                        trigger=_code(mesure, "declencheur"),
                        status=_code(mesure, "statut"),
                    )
                )
    return sorted(out, key=lambda m: (m.grid, m.start))


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """RecherchePoint criteria; SGE wants enough of them (else SGT4F7).

    A SIRET or a meter number suffices alone; an address needs its postcode
    or commune (INSEE) and something more; a name is matched as a substring of
    at least 3 characters.
    """

    street: str | None = None
    postcode: str | None = None
    insee: str | None = None
    name: str | None = None
    siret: str | None = None
    meter: str | None = None
    tension: str | None = None
    """BTINF, BTSUP, HTA, HTB."""
    category: str | None = None
    """PRO or RES."""
    out_of_perimeter: bool = False
    """``rechercheHorsPerimetre``: points outside the Tiers' own contracts."""

    def to_request(self) -> dict[str, object]:
        """``criteres`` in the documented order, absent criteria left out."""
        address = {
            k: v
            for k, v in (
                ("numeroEtNomVoie", self.street),
                ("codePostal", self.postcode),
                ("codeInseeCommune", self.insee),
            )
            if v
        }
        criteres: dict[str, object] = {}
        if address:
            criteres["adresseInstallation"] = address
        for key, value in (
            ("numSiret", self.siret),
            ("matriculeOuNumeroSerie", self.meter),
            ("domaineTensionAlimentationCode", self.tension),
            ("nomClientFinalOuDenominationSociale", self.name),
            ("categorieClientFinalCode", self.category),
        ):
            if value:
                criteres[key] = value
        if self.out_of_perimeter:
            criteres["rechercheHorsPerimetre"] = True
        return criteres


@dataclass(frozen=True, slots=True)
class FoundPoint:
    """One point of a search: its PRM and SGE's normalised address."""

    prm: str
    address: tuple[str, ...]
    """``ligne1``..``ligne7`` present, in order (``ligne6`` = postcode + commune)."""
    meter_serials: tuple[str, ...]
    metering: str | None
    contract_state: str | None
    holder: str | None


def found_points(root: etree._Element) -> list[FoundPoint]:
    out = []
    for point in root.findall("points/point"):
        address = point.find("adresseInstallationNormalisee")
        lines = tuple(
            line
            for i in range(1, 8)
            if (line := _text(address, f"ligne{i}")) is not None
        )
        serials = [e.text.strip() for e in point.findall("matricule") if e.text]
        serials += [e.text.strip() for e in point.findall("numeroSerie") if e.text]
        out.append(
            FoundPoint(
                prm=str(point.get("id")),
                address=lines,
                meter_serials=tuple(serials),
                metering=_code(point, "typeComptage"),
                contract_state=_code(point, "etatContractuel"),
                holder=_text(point, "nomClientFinalOuDenominationSociale"),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Prestation:
    """What SGE will do for an order: the fiche (F300C…) and its option."""

    fiche: str
    option: str | None


@dataclass(frozen=True, slots=True)
class Order:
    """A subscription or stop order as SGE acknowledges it."""

    affaire_id: str | None
    service_id: str | None
    prestations: tuple[Prestation, ...]


def order(root: etree._Element) -> Order:
    """Old-model order answers (CCPM, ASS): ``fiche@code`` with ``libelle`` children."""
    prestations = []
    for prestation in root.findall("prestations/prestation"):
        fiche = prestation.find("fiche")
        if fiche is None or not fiche.get("code"):
            continue
        option = prestation.find("option")
        prestations.append(
            Prestation(
                str(fiche.get("code")),
                option.get("code") if option is not None else None,
            )
        )
    return Order(
        affaire_id=_text(root, "affaireId"),
        service_id=_text(root, "serviceSouscritId"),
        prestations=tuple(prestations),
    )


@dataclass(frozen=True, slots=True)
class SubscribedService:
    """One subscribed measures service of a point (RechercheServicesSouscritsMesures)."""

    service_id: str
    prm: str
    type_code: str | None
    """``serviceSouscritType@code`` (the prestation, e.g. F300C, F305)."""
    label: str | None
    state: str | None
    """``etatCode``: ACTIF, TERMINE…"""
    start: date | None
    end: date | None
    end_reason: str | None
    measure_type: str | None
    """CDC, IDX…"""
    step: str | None
    corrected: bool | None
    periodicity: str | None
    soutirage: bool | None
    injection: bool | None

    @property
    def active(self) -> bool:
        return self.state == "ACTIF"


def subscribed_services(root: etree._Element) -> list[SubscribedService]:
    out = []
    for item in root.findall("servicesSouscritsMesures/serviceSouscritMesures"):
        service_id, prm = _text(item, "serviceSouscritId"), _text(item, "pointId")
        if service_id is None or prm is None:
            raise PayloadInvalidError("subscribed service without id or point")
        out.append(
            SubscribedService(
                service_id=service_id,
                prm=prm,
                type_code=_code(item, "serviceSouscritType"),
                label=_text(item, "serviceSouscritLibelle"),
                state=_text(item, "etatCode"),
                start=_date(_text(item, "dateDebut")),
                end=_date(_text(item, "dateFin")),
                end_reason=_text(item, "motifFinLibelle"),
                measure_type=_text(item, "mesuresTypeCode"),
                step=_text(item, "mesuresPas"),
                corrected=_bool(_text(item, "mesuresCorrigees")),
                periodicity=_text(item, "periodiciteTransmission"),
                soutirage=_bool(_text(item, "soutirage")),
                injection=_bool(_text(item, "injection")),
            )
        )
    return out


def affaire_id(root: etree._Element) -> str:
    """M023 answers: the body root IS ``affaireId`` (``[0-9A-Z]{4,8}``)."""
    value = (root.text or "").strip()
    if etree.QName(root).localname != "affaireId" or not value:
        raise PayloadInvalidError("M023 answer without affaireId")
    return value
