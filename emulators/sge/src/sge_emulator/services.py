"""The SGE services: one handler per (path, body root), as the interop note lists them.

Each handler validates what the contract says is required (SGT562 otherwise),
checks the account (login, contract), applies the catalogue's refusals and
answers the documented body; the dispatcher adds the ``acquittement`` header
only for services whose WSDL declares one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sge_emulator import profiles
from sge_emulator.catalogue import ADP_NOT_FOUND, AHC_C5, Point
from sge_emulator.profiles import PARIS
from sge_emulator.soap import (
    DC4,
    SgeFault,
    acquittement,
    boolean,
    malformed,
    opt,
    req,
    sub,
)
from sge_emulator.state import EmulatorState, Order, Subscription

ADP_NS = "http://www.enedis.fr/sge/b2b/services/consulterdonneestechniquescontractuelles/v1.0"
AHC_NS = "http://www.enedis.fr/sge/b2b/services/consultermesures/v1.1"
CMD3_NS = "http://www.enedis.fr/sge/b2b/services/consultationmesuresdetaillees/common"
CMD2_NS = "http://www.enedis.fr/sge/b2b/services/consultationmesuresdetaillees/v2.0"
RP_NS = "http://www.enedis.fr/sge/b2b/services/rechercherpoint/v2.0"
CCPM_NS = "http://www.enedis.fr/sge/b2b/commandercollectepublicationmesures/v3.0"
RSSM_NS = "http://www.enedis.fr/sge/b2b/rechercherservicessouscritsmesures/v1.0"
ASS_NS = "http://www.enedis.fr/sge/b2b/commanderarretservicesouscritmesures/v1.0"
CADM_NS = "http://www.enedis.fr/sge/b2b/commanderaccesdonneesmesures/v1.0"
SAD_NS = "http://www.enedis.fr/sge/ws/commanderservicesaccesdonnees/v1.0"
ASAD_NS = "http://www.enedis.fr/sge/ws/commanderarretservicesaccesdonnees/v1.0"
MOSAD_NS = (
    "http://www.enedis.fr/sge/ws/commanderModificationOptionsServicesAccesDonnees/v1.0"
)
RNSAD_NS = (
    "http://www.enedis.fr/sge/ws/commanderRenouvellementServicesAccesDonnees/v1.0"
)
RSAD_NS = "http://www.enedis.fr/sge/b2b/rechercherservicesaccesdonnees/v1.0"
MFI_NS = "https://sge-b2b.enedis.fr/services/commandehistoriquedonneesmesuresfines/v1"
MFA_NS = (
    "https://sge-b2b.enedis.fr/services/commandehistoriquedonneesmesuresfacturantes/v1"
)
ITC_NS = "https://sge-b2b.enedis.fr/services/commandeinformationstechniquesetcontractuelles/v1"
HDM_NS = "http://www.enedis.fr/sge/b2b/commandertransmissionhistoriquemesures/v1.0"
INFRAJ_NS = "http://www.enedis.fr/sge/b2b/commandertransmissiondonneesinfraj/v1.0"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PRM = re.compile(r"^[0-9]{14}$")

Answer = tuple[ET.Element, list[ET.Element]]
Handler = Callable[[EmulatorState, ET.Element], Answer]


@dataclass(frozen=True, slots=True)
class Service:
    path: str
    root: str
    handler: Handler
    hdm: bool = False
    header: str | None = "entete"
    """The SOAP header the service's WSDL declares (local name), None if none."""


def _check_sequence(container: ET.Element, where: str, names: tuple[str, ...]) -> None:
    """Children known and in ``xs:sequence`` order (SP: "Request is considered
    malformed when params are not ordered"); repeats of one element allowed."""
    at = 0
    for child in container:
        if child.tag not in names:
            raise malformed(f"élément {child.tag} inattendu dans {where}")
        index = names.index(child.tag)
        if index < at:
            raise malformed(f"élément {child.tag} hors séquence dans {where}")
        at = index


def validate_envelope(
    service: Service, root: ET.Element, headers: Iterable[ET.Element]
) -> None:
    """What every request must respect before its handler reads it (SGT562).

    * Children of the body root are **unqualified** (no XSD sets
      ``elementFormDefault``): a qualified child is a malformed message, not an
      element to look for under another name.
    * A header only where the WSDL declares one (``entete``; ``enteteP`` for
      HDM; none for CMD v2/v3 and M023). An empty ``<Header/>`` is fine
      (suds sends one), the declared header stays optional (the interop note:
      zeep clients never sent it), and its ``loginDemandeur``, when given,
      must be an e-mail like the body's login.
    """
    for element in root.iter():
        if element is not root and element.tag.startswith("{"):
            local = element.tag.rsplit("}", 1)[1]
            raise malformed(f"l'élément {local} doit être non qualifié")
    for path, names in SEQUENCES.get(root.tag, {}).items():
        container = root if not path else root.find(path)
        if container is not None:
            _check_sequence(container, path or "racine", names)
    for header in headers:
        local = header.tag.rsplit("}", 1)[-1]
        if service.header is None:
            raise malformed(f"en-tête {local} non déclaré par ce service")
        if local != service.header:
            raise malformed(f"en-tête {local} inattendu ({service.header} attendu)")
        for element in header.iter():
            local_name = element.tag.rsplit("}", 1)[-1]
            if local_name == "loginDemandeur" and not _EMAIL.match(
                (element.text or "").strip()
            ):
                raise malformed("le login de l'en-tête doit être une adresse e-mail")


# ---------------------------------------------------------------- helpers


def _login(state: EmulatorState, value: str) -> str:
    if not _EMAIL.match(value):
        raise malformed("le login doit être une adresse e-mail")
    if state.settings.strict_login and value != state.settings.login:
        raise SgeFault("SGT4G2")
    return value


def _contract(state: EmulatorState, value: str) -> str:
    if len(value) > 15:
        raise malformed("contratId dépasse 15 caractères")
    if state.settings.strict_login and value != state.settings.contract_id:
        raise SgeFault("SGT4G2")
    return value


def _prm(value: str) -> str:
    if not _PRM.match(value):
        raise malformed("pointId doit compter 14 chiffres")
    return value


def _point(state: EmulatorState, prm: str) -> Point:
    point = state.catalogue.get(_prm(prm))
    if point is None or prm == ADP_NOT_FOUND:
        raise SgeFault("SGT401")
    return point


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise malformed(f"{name} n'est pas une date") from exc


def _root(ns: str, local: str) -> ET.Element:
    return ET.Element(f"{{{ns}}}{local}")


def _naive(t: datetime) -> str:
    """v3 stamps: Paris local time, no offset (``2023-04-01 00:30:00``)."""
    return t.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


def _prestation(
    parent: ET.Element,
    rang: int,
    fiche: str,
    libelle: str,
    option: tuple[str, str] | None,
    *,
    attr: bool,
) -> None:
    prestation = sub(parent, "prestation")
    sub(prestation, "rang", rang)
    if attr:
        sub(prestation, "fiche", code=fiche, libelle=libelle)
        if option is not None:
            sub(prestation, "option", code=option[0], libelle=option[1])
    else:
        sub(sub(prestation, "fiche", code=fiche), "libelle", libelle)
        if option is not None:
            sub(sub(prestation, "option", code=option[0]), "libelle", option[1])


# ---------------------------------------------------------------- ADP


def technical_data(state: EmulatorState, root: ET.Element) -> Answer:
    prm = req(root, "pointId")
    login = _login(state, req(root, "loginUtilisateur"))
    authorised = boolean(opt(root, "autorisationClient"), "autorisationClient", False)
    point = _point(state, prm)
    body = _root(ADP_NS, "consulterDonneesTechniquesContractuellesResponse")
    p = sub(body, "point", id=prm)
    general = sub(p, "donneesGenerales")
    sub(general, "etatContractuel", code="SERVC")
    address = sub(general, "adresseInstallation")
    sub(address, "numeroEtNomVoie", point.street)
    sub(address, "codePostal", point.postcode)
    sub(sub(address, "commune", code=point.insee), "libelle", point.commune)
    sub(general, "segment", code=point.segment)
    sub(general, "niveauOuvertureServices", "2")
    alim = sub(sub(p, "situationAlimentation"), "alimentationPrincipale")
    sub(alim, "domaineTension", code=point.tension)
    raccordement = sub(alim, "puissanceRaccordementSoutirage")
    sub(raccordement, "valeur", point.subscribed_kva)
    sub(raccordement, "unite", "kVA")
    comptage = sub(p, "situationComptage")
    dispositif = sub(comptage, "dispositifComptage")
    sub(dispositif, "typeComptage", code="LINKY" if point.c5 else "CCB")
    compteur = sub(sub(dispositif, "compteurs"), "compteur")
    sub(compteur, "matricule", point.meter_serial)
    if point.c5:
        sub(compteur, "plagesHeuresCreuses", point.offpeak)
    sub(comptage, "modeReleve", code="TELE")
    if authorised:
        contractual = sub(sub(p, "situationContractuelle"), "structureTarifaire")
        sub(
            sub(contractual, "formuleTarifaireAcheminement", code=point.tariff),
            "libelle",
            "Courte utilisation 4 postes",
        )
        power = sub(contractual, "puissanceSouscriteMax")
        sub(power, "valeur", point.subscribed_kva)
        sub(power, "unite", "kVA")
    return body, [acquittement(login, prm)]


# ---------------------------------------------------------------- AHC


def measures(state: EmulatorState, root: ET.Element) -> Answer:
    prm = req(root, "pointId")
    login = _login(state, req(root, "loginDemandeur"))
    _contract(state, req(root, "contratId"))
    authorised = boolean(opt(root, "autorisationClient"), "autorisationClient", False)
    new_client = boolean(
        opt(root, "contratConcluNouveauClientSurSite"),
        "contratConcluNouveauClientSurSite",
        False,
    )
    point = _point(state, prm)
    if not (authorised or new_client) or (prm == AHC_C5 and not authorised):
        raise SgeFault("SGT4G2")
    body = _root(AHC_NS, "consulterMesuresResponse")
    serie = sub(sub(body, "seriesMesuresDateesGrilleTurpe"), "serie")
    sub(serie, "grandeurPhysique", code="EA")
    sub(serie, "classeTemporelle", code="BASE")
    sub(serie, "calendrier", code="DI000001")
    sub(serie, "unite", "kWh")
    datees = sub(serie, "mesuresDatees")
    month_end = state.today.replace(day=1)
    for _ in range(12):  # newest first, monthly, as the real service
        month_start = (month_end - timedelta(days=1)).replace(day=1)
        kwh = (
            sum(
                profiles.daily_energy_wh(point, month_start + timedelta(days=i))
                for i in range((month_end - month_start).days)
            )
            // 1000
        )
        mesure = sub(datees, "mesure")
        sub(mesure, "valeur", kwh)
        sub(mesure, "dateDebut", month_start.isoformat())
        sub(mesure, "dateFin", month_end.isoformat())
        sub(mesure, "nature", code="REEL")
        sub(mesure, "declencheur", code="CYCLIQUE")
        sub(mesure, "statut", code="INITIALE")
        month_end = month_start
    return body, [acquittement(login, prm)]


# ---------------------------------------------------------------- CMD v3 / v2


def _window(
    state: EmulatorState, start: date, end: date, type_code: str
) -> tuple[date, date]:
    if end <= start:
        raise malformed("dateDebut doit précéder dateFin")
    if type_code in ("COURBE", "COURBES"):
        if (end - start).days > 7 or start < state.today - timedelta(days=731):
            raise SgeFault("SGT4L8")
    elif start < state.today - timedelta(days=1096):
        raise SgeFault("SGT4L8")
    last = min(end, state.today)  # data up to yesterday (dateFin exclusive)
    if last <= start:
        raise SgeFault("SGT4G3")
    return start, last


def curve_points(
    state: EmulatorState, point: Point, start: date, end: date
) -> list[tuple[datetime, int, int]]:
    """(stamp, W, minutes): C5 PT30M end-stamped, C1-C4 PT10M start-stamped."""
    minutes = 30 if point.c5 else 10
    out = []
    seen: set[str] = set()
    day = start
    while day < end:
        for t in profiles.intervals(day, minutes):
            stamp = t + timedelta(minutes=minutes) if point.c5 else t
            if state.settings.october_duplicate == "drop":
                key = _naive(stamp)
                if key in seen:
                    continue
                seen.add(key)
            out.append((stamp, profiles.mean_power_w(point, t, minutes), minutes))
        day += timedelta(days=1)
    return out


def _index_contexte(parent: ET.Element, point: Point, start: date, end: date) -> None:
    contexte = sub(parent, "contexte")
    sub(contexte, "etapeMetier", "BRUT")
    sub(contexte, "contexteReleve", "COL")
    sub(contexte, "typeReleve", "AQ")
    grandeur = sub(contexte, "grandeur")
    sub(grandeur, "grandeurMetier", "CONS")
    sub(grandeur, "grandeurPhysique", "EA")
    sub(grandeur, "unite", "Wh")
    calendrier = sub(grandeur, "calendrier")
    sub(calendrier, "idCalendrier", "DI000001")
    sub(calendrier, "libelleCalendrier", "Base")
    classe = sub(calendrier, "classeTemporelle")
    sub(classe, "idClasseTemporelle", "BASE")
    sub(classe, "libelleClasseTemporelle", "Base")
    sub(classe, "codeCadran", "IDX_EAS_D1")
    total = sub(grandeur, "cadranTotalisateur")
    sub(total, "codeCadran", "IDX_EAS_T")
    rows = []
    day = start
    while day < end:
        # the register at the START of ``day`` = end of the day before
        rows.append((day, profiles.index_wh(point, day - timedelta(days=1))))
        day += timedelta(days=1)
    for target in (classe, total):
        for day, value in rows:
            valeur = sub(target, "valeur")
            sub(valeur, "d", f"{day.isoformat()} 00:00:00")
            sub(valeur, "v", value)
            sub(valeur, "iv", 0)


def detailed_v3(state: EmulatorState, root: ET.Element) -> Answer:
    demande = root.find("demande")
    if demande is None:
        raise malformed("élément demande absent")
    _login(state, req(demande, "initiateurLogin"))
    prm = req(demande, "pointId")
    type_code = req(demande, "mesuresTypeCode")
    physical = req(demande, "grandeurPhysique")
    start = _date(req(demande, "dateDebut"), "dateDebut")
    end = _date(req(demande, "dateFin"), "dateFin")
    corrected = boolean(opt(demande, "mesuresCorrigees"), "mesuresCorrigees")
    sens = req(demande, "sens")
    cadre = req(demande, "cadreAcces")
    allowed = {
        "COURBE": {"PA", "PRI", "PRC", "E", "TOUT"},
        "ENERGIE": {"EA"},
        "INDEX": {"EA"},
        "PMAX": {"PMA"},
    }
    if type_code not in allowed or physical not in allowed[type_code]:
        raise malformed("mesuresTypeCode/grandeurPhysique incohérents")
    if sens not in ("SOUTIRAGE", "INJECTION") or cadre not in (
        "ACCORD_CLIENT",
        "SERVICE_ACCES",
        "EST_TITULAIRE",
    ):
        raise malformed("sens ou cadreAcces inconnu")
    point = _point(state, prm)
    if cadre == "SERVICE_ACCES" and not state.active(prm):
        raise SgeFault("SGT211")
    first, last = _window(state, start, end, type_code)
    if sens == "INJECTION":
        raise SgeFault("SGT4G3")  # the catalogue's points do not produce
    body = _root(CMD3_NS, "consulterMesuresDetailleesResponseV3")
    sub(body, "pointId", prm)
    if type_code != "INDEX":
        sub(body, "mesuresCorrigees", "BEST" if corrected and not point.c5 else "BRUT")
    periode = sub(body, "periode")
    sub(periode, "dateDebut", start.isoformat())
    sub(periode, "dateFin", end.isoformat())
    if type_code == "INDEX":
        _index_contexte(body, point, first, last)
        return body, []
    grandeur = sub(body, "grandeur")
    sub(grandeur, "grandeurMetier", "CONS")
    day = first
    if type_code == "COURBE":
        sub(
            grandeur,
            "grandeurPhysique",
            "PA" if physical in ("PA", "TOUT") else physical,
        )
        sub(grandeur, "unite", "W" if physical in ("PA", "TOUT") else "VAr")
        for stamp, watts, minutes in curve_points(state, point, first, last):
            pts = sub(grandeur, "points")
            sub(pts, "v", watts if physical in ("PA", "TOUT") else watts // 5)
            sub(pts, "d", _naive(stamp))
            sub(pts, "p", f"PT{minutes}M")
            sub(pts, "n", "B" if point.c5 else "R")
            if point.c5:
                sub(pts, "iv", 0)
                sub(pts, "ec", 0)
        sub(body, "modeCalcul", "MESURE")
        return body, []
    if type_code == "ENERGIE":
        sub(grandeur, "grandeurPhysique", "EA")
        sub(grandeur, "unite", "Wh")
        while day < last:
            pts = sub(grandeur, "points")
            sub(pts, "v", profiles.daily_energy_wh(point, day))
            sub(pts, "d", day.isoformat())
            day += timedelta(days=1)
        sub(body, "typeValeur", "GLOBALE")
        sub(body, "modeCalcul", "DIFF.INDEX")
        sub(body, "pas", "P1D")
        return body, []
    sub(grandeur, "grandeurPhysique", "PMA")
    sub(grandeur, "unite", "VA")
    while day < last:
        va, at = profiles.max_power(point, day)
        pts = sub(grandeur, "points")
        sub(pts, "v", va)
        sub(pts, "d", _naive(at))
        day += timedelta(days=1)
    sub(body, "modeCalcul", "MESURE")
    sub(body, "pas", "P1D")
    return body, []


def detailed_v2(state: EmulatorState, root: ET.Element) -> Answer:
    demande = root.find("demande")
    if demande is None:
        raise malformed("élément demande absent")
    _login(state, req(demande, "initiateurLogin"))
    prm = req(demande, "pointId")
    type_code = req(demande, "mesuresTypeCode")
    physical = req(demande, "grandeurPhysique")
    boolean(req(demande, "soutirage"), "soutirage")
    boolean(req(demande, "injection"), "injection")
    start = _date(req(demande, "dateDebut"), "dateDebut")
    end = _date(req(demande, "dateFin"), "dateFin")
    corrected = boolean(req(demande, "mesuresCorrigees"), "mesuresCorrigees")
    accord = boolean(req(demande, "accordClient"), "accordClient")
    if type_code not in ("COURBE", "ENERGIE", "PMAX"):
        raise malformed("mesuresTypeCode inconnu")
    point = _point(state, prm)
    if not accord:
        raise SgeFault("SGT4K2")
    first, last = _window(state, start, end, type_code)
    body = _root(CMD2_NS, "consulterMesuresDetailleesResponse")
    sub(body, "pointId", prm)
    sub(body, "mesuresCorrigees", "BEST" if corrected and not point.c5 else "BRUT")
    periode = sub(body, "periode")
    sub(periode, "dateDebut", start.isoformat())
    sub(periode, "dateFin", end.isoformat())
    grandeur = sub(body, "grandeur")
    sub(grandeur, "grandeurMetier", "CONS")

    def stamp(t: datetime) -> str:
        local = t.astimezone(PARIS)
        return local.isoformat(timespec="milliseconds")

    day = first
    if type_code == "COURBE":
        sub(grandeur, "grandeurPhysique", physical)
        sub(grandeur, "unite", "W")
        for at, watts, minutes in curve_points(state, point, first, last):
            mesure = sub(grandeur, "mesure")
            sub(mesure, "v", watts)
            sub(mesure, "d", stamp(at))
            sub(mesure, "p", f"PT{minutes}M")
            sub(mesure, "n", "B" if point.c5 else "R")
    elif type_code == "ENERGIE":
        sub(grandeur, "grandeurPhysique", "EA")
        sub(grandeur, "unite", "Wh")
        while day < last:
            mesure = sub(grandeur, "mesure")
            sub(mesure, "v", profiles.daily_energy_wh(point, day))
            sub(mesure, "d", stamp(profiles.day_bounds(day)[0]))
            day += timedelta(days=1)
    else:
        sub(grandeur, "grandeurPhysique", "PMA")
        sub(grandeur, "unite", "VA")
        while day < last:
            va, at = profiles.max_power(point, day)
            mesure = sub(grandeur, "mesure")
            sub(mesure, "v", va)
            sub(mesure, "d", stamp(at))
            day += timedelta(days=1)
    return body, []


# ---------------------------------------------------------------- RP


def search_point(state: EmulatorState, root: ET.Element) -> Answer:
    criteres = root.find("criteres")
    if criteres is None:
        raise malformed("élément criteres absent")
    login = _login(state, req(root, "loginUtilisateur"))
    address = criteres.find("adresseInstallation")
    street = opt(address, "numeroEtNomVoie") if address is not None else None
    postcode = opt(address, "codePostal") if address is not None else None
    insee = opt(address, "codeInseeCommune") if address is not None else None
    siret = opt(criteres, "numSiret")
    serial = opt(criteres, "matriculeOuNumeroSerie")
    tension = opt(criteres, "domaineTensionAlimentationCode")
    name = opt(criteres, "nomClientFinalOuDenominationSociale")
    category = opt(criteres, "categorieClientFinalCode")
    boolean(opt(criteres, "rechercheHorsPerimetre"), "rechercheHorsPerimetre", False)
    if name is not None and len(name) < 3:
        raise SgeFault("SGT4F7")
    # Sufficient: a SIRET, a meter, or a postcode/commune with something more.
    located = postcode is not None or insee is not None
    sufficient = (
        siret is not None
        or serial is not None
        or (
            located
            and (postcode is not None or name is not None)
            and (insee is not None or postcode is not None)
        )
    )
    if not sufficient or (
        street is not None and postcode is None and name is None and siret is None
    ):
        raise SgeFault("SGT4F7")
    hits = []
    for point in state.catalogue:
        if siret is not None and point.siret != siret:
            continue
        if serial is not None and point.meter_serial != serial:
            continue
        if postcode is not None and point.postcode != postcode:
            continue
        if insee is not None and point.insee != insee:
            continue
        if street is not None and street.upper() not in point.street.upper():
            continue
        if tension is not None and point.tension != tension:
            continue
        if category is not None and point.category != category:
            continue
        if name is not None and name.upper() not in point.holder.upper():
            continue
        hits.append(point)
    if len(hits) > 200:
        raise SgeFault("SGT4F8")
    body = _root(RP_NS, "rechercherPointResponse")
    if hits:
        points = sub(body, "points")
        for point in hits:
            p = sub(points, "point", id=point.prm)
            normalised = sub(p, "adresseInstallationNormalisee")
            sub(normalised, "ligne4", point.street)
            sub(normalised, "ligne6", f"{point.postcode} {point.commune}")
            sub(p, "matricule", point.meter_serial)
            sub(p, "typeComptage", code="LINKY" if point.c5 else "CCB")
            sub(p, "etatContractuel", code="SERVC")
            sub(p, "nomClientFinalOuDenominationSociale", point.holder)
    return body, [acquittement(login)]


# ---------------------------------------------------------------- subscriptions, old model


def _check_accord(element: ET.Element | None, tag: str = "accord") -> None:
    if element is None:
        raise malformed("declarationAccordClient absent")
    accord = boolean(opt(element, tag), tag)
    physical = element.find("personnePhysique")
    moral = element.find("personneMorale")
    if physical is not None:
        req(physical, "nom")
    elif moral is not None:
        req(moral, "denominationSociale")
    elif accord:
        raise malformed("personnePhysique ou personneMorale absente")
    if not accord:
        raise SgeFault("SGT566")


def _subscribe(
    state: EmulatorState,
    point: Point,
    kind: str,
    model: str,
    start: date,
    end: date | None,
    *,
    recurrent: bool,
    periodicity: str = "P1D",
    corrected: bool = False,
) -> Subscription:
    if end is None or end > start + timedelta(days=366) or end <= start:
        raise SgeFault("SGT4H4")
    if point.c5 and model == "collecte" and start != state.today:
        raise SgeFault(
            "SGT4H4", "La date de début doit être la date du jour pour un point C5."
        )
    for existing in state.active(point.prm, (kind,)):
        if existing.end is None or existing.end > start:
            raise SgeFault("SGT570")
    subscription = Subscription(
        service_id=state.new_service_id(),
        affaire_id=state.new_affaire_id(),
        prm=point.prm,
        kind=kind,
        model=model,
        start=start,
        end=end,
        recurrent=recurrent,
        periodicity=periodicity,
        corrected=corrected,
    )
    state.subscriptions[subscription.service_id] = subscription
    return subscription


def _fiche(
    point: Point, kind: str, recurrent: bool
) -> tuple[str, str, tuple[str, str] | None]:
    if kind == "CDC":
        if point.c5:
            option = (
                ("F300CO1", "Transmission récurrente")
                if recurrent
                else ("F300CO2", "Collecte seule")
            )
            return "F300C", "Collecte et transmission de la courbe de charge", option
        return "F300B", "Transmission récurrente de la courbe de charge", None
    if point.c5:
        return (
            "F305",
            "Transmission récurrente des index quotidiens et puissances maximales quotidiennes",
            None,
        )
    return "F305A", "Transmission récurrente des index quotidiens", None


def collect_publish(state: EmulatorState, root: ET.Element) -> Answer:
    demande = root.find("demande")
    if demande is None:
        raise malformed("élément demande absent")
    general = demande.find("donneesGenerales")
    access = demande.find("accesMesures")
    if general is None or access is None:
        raise malformed("donneesGenerales ou accesMesures absent")
    if req(general, "objetCode") != "AME":
        raise malformed("objetCode doit valoir AME")
    prm = req(general, "pointId")
    login = _login(state, req(general, "initiateurLogin"))
    _contract(state, req(general, "contratId"))
    start = _date(req(access, "dateDebut"), "dateDebut")
    end_text = opt(access, "dateFin")
    kind = req(access, "mesuresTypeCode")
    boolean(req(access, "soutirage"), "soutirage")
    boolean(req(access, "injection"), "injection")
    recurrent = boolean(req(access, "transmissionRecurrente"), "transmissionRecurrente")
    corrected = boolean(opt(access, "mesuresCorrigees"), "mesuresCorrigees", False)
    periodicity = opt(access, "periodiciteTransmission") or "P1D"
    if kind not in ("CDC", "IDX"):
        raise SgeFault("SGT4Q1")
    point = _point(state, prm)
    _check_accord(access.find("declarationAccordClient"))
    subscription = _subscribe(
        state,
        point,
        kind,
        "collecte",
        start,
        _date(end_text, "dateFin") if end_text else None,
        recurrent=recurrent,
        periodicity=periodicity,
        corrected=corrected,
    )
    body = _root(CCPM_NS, "commanderCollectePublicationMesuresResponse")
    sub(body, "affaireId", subscription.affaire_id)
    fiche, libelle, option = _fiche(point, kind, recurrent)
    _prestation(sub(body, "prestations"), 1, fiche, libelle, option, attr=False)
    sub(body, "serviceSouscritId", subscription.service_id)
    return body, [acquittement(login, prm, subscription.affaire_id)]


def _search_criteres(state: EmulatorState, root: ET.Element) -> tuple[str, str, str]:
    """(prm, contract, login) of a search by point (RSSM and RSAD alike), each
    checked in the order SGE reports them: contract, login, then the point."""
    criteres = root.find("criteres")
    if criteres is None:
        raise malformed("élément criteres absent")
    prm = req(criteres, "pointId")
    contract = _contract(state, req(criteres, "contratId"))
    login = _login(state, req(root, "loginUtilisateur"))
    _point(state, prm)
    return prm, contract, login


def _service_state(item: ET.Element, s: Subscription) -> None:
    """A listed service's state and dates (a stopped one ends the day it stopped)."""
    sub(item, "etatCode", "ACTIF" if s.state == "ACTIF" else "TERMINE")
    sub(item, "dateDebut", s.start.isoformat())
    if s.end is not None:
        sub(item, "dateFin", (s.stopped_on or s.end).isoformat())


def _listed(
    state: EmulatorState, prm: str, body: ET.Element, container: str, element: str
) -> Iterator[tuple[ET.Element, Subscription]]:
    """Each service of ``prm`` as a new item of ``container`` (which is written
    only when there is one), its id and point already in; both searches (RSSM,
    RSAD) list the services of both models."""
    found = [s for s in state.subscriptions.values() if s.prm == prm]
    if not found:
        return
    parent = sub(body, container)
    for s in found:
        item = sub(parent, element)
        sub(item, "serviceSouscritId", s.service_id)
        sub(item, "pointId", s.prm)
        yield item, s


def list_subscriptions(state: EmulatorState, root: ET.Element) -> Answer:
    prm, contract, login = _search_criteres(state, root)
    body = _root(RSSM_NS, "rechercherServicesSouscritsMesuresResponse")
    # Both models' services: one point has one set of measures services,
    # whichever order created them (emulator choice, see the README).
    for item, s in _listed(
        state, prm, body, "servicesSouscritsMesures", "serviceSouscritMesures"
    ):
        sub(
            sub(
                item,
                "serviceSouscritType",
                code="F300C" if s.kind == "CDC" else "F305",
            ),
            "libelle",
            "Transmission récurrente",
        )
        sub(
            item,
            "serviceSouscritLibelle",
            "Courbe de charge" if s.kind == "CDC" else "Index quotidiens",
        )
        sub(item, "injection", s.injection)
        sub(item, "soutirage", s.soutirage)
        sub(item, "contratId", contract)
        _service_state(item, s)
        if s.state != "ACTIF":
            sub(item, "motifFinLibelle", "Arrêt à la demande du tiers")
        sub(item, "mesuresTypeCode", s.kind)
        sub(item, "mesuresPas", "P1D" if s.kind == "IDX" else "PT30M")
        sub(item, "mesuresCorrigees", s.corrected)
        sub(item, "periodiciteTransmission", s.periodicity)
    return body, [acquittement(login, prm)]


def _demande_with(
    root: ET.Element, part: str
) -> tuple[ET.Element, ET.Element, ET.Element]:
    """``demande``, its ``donneesGenerales`` and its ``part``, or a malformed
    request naming what is missing."""
    demande = root.find("demande")
    general = demande.find("donneesGenerales") if demande is not None else None
    found = demande.find(part) if demande is not None else None
    if demande is None or general is None or found is None:
        raise malformed(f"donneesGenerales ou {part} absent")
    return demande, general, found


def _general_point(state: EmulatorState, general: ET.Element) -> tuple[str, str]:
    """(prm, login) of ``donneesGenerales``: point, login, contract and the
    point's existence, checked in the order SGE reports them."""
    prm = req(general, "pointId")
    login = _login(state, req(general, "initiateurLogin"))
    _contract(state, req(general, "contratId"))
    _point(state, prm)
    return prm, login


def _stop(state: EmulatorState, prm: str, service_id: str) -> Subscription:
    subscription = state.subscriptions.get(service_id)
    if subscription is None or subscription.prm != prm:
        raise SgeFault("SGT400", "Le service souscrit est inconnu sur ce point.")
    if subscription.state != "ACTIF":
        raise SgeFault("SGT400", "Le service souscrit est déjà arrêté.")
    subscription.state = "TERMINE"
    subscription.stopped_on = state.today
    return subscription


def stop_subscription(state: EmulatorState, root: ET.Element) -> Answer:
    _, general, stop = _demande_with(root, "arretServiceSouscrit")
    if req(general, "objetCode") != "ASS":
        raise malformed("objetCode doit valoir ASS")
    prm, login = _general_point(state, general)
    _stop(state, prm, req(stop, "serviceSouscritId"))
    affaire = state.new_affaire_id()
    body = _root(ASS_NS, "commanderArretServiceSouscritMesuresResponse")
    sub(body, "affaireId", affaire)
    _prestation(
        sub(body, "prestations"),
        1,
        "F300C",
        "Arrêt du service souscrit",
        None,
        attr=False,
    )
    return body, [acquittement(login, prm, affaire)]


# ---------------------------------------------------------------- services d'accès (new model)


def _sad_general(
    state: EmulatorState, root: ET.Element
) -> tuple[ET.Element, ET.Element, str, str]:
    demande = root.find("demande")
    general = demande.find("donneesGenerales") if demande is not None else None
    if demande is None or general is None:
        raise malformed("demande/donneesGenerales absent")
    prm = req(general, "pointId")
    login = _login(state, req(general, "initiateurLogin"))
    contract = opt(general, "contratId") or opt(general, "contrat/contratId")
    if contract is None:
        raise malformed("contratId absent")
    _contract(state, contract)
    return demande, general, prm, login


def access_data_measures(state: EmulatorState, root: ET.Element) -> Answer:
    demande, _general, prm, login = _sad_general(state, root)
    access = demande.find("accesDonnees")
    if access is None:
        raise malformed("accesDonnees absent")
    kind = req(access, "typeDonnees")
    if kind not in ("CDC", "IDX", "ENERGIE", "PMAX"):
        raise SgeFault("SGT4Q1")
    start = _date(req(access, "dateDebut"), "dateDebut")
    end_text = opt(access, "dateFin")
    point = _point(state, prm)
    _check_accord(access.find("declarationAccordClient"))
    subscription = _subscribe(
        state,
        point,
        kind,
        "acces",
        start,
        _date(end_text, "dateFin") if end_text else start + timedelta(days=365),
        recurrent=True,
    )
    body = _root(CADM_NS, "commanderAccesDonneesMesuresResponse")
    sub(body, "affaireId", subscription.affaire_id)
    fiche, libelle, option = _fiche(point, "CDC" if kind == "CDC" else "IDX", True)
    _prestation(sub(body, "prestations"), 1, fiche, libelle, option, attr=False)
    sub(body, "serviceSouscritId", subscription.service_id)
    return body, [acquittement(login, prm, subscription.affaire_id)]


def access_services(state: EmulatorState, root: ET.Element) -> Answer:
    demande, general, prm, login = _sad_general(state, root)
    sens = req(general, "sens")
    if sens not in ("SOUTIRAGE", "INJECTION"):
        raise malformed("sens inconnu")
    end_text = opt(general, "dateFin")
    point = _point(state, prm)
    accord = general.find("declarationAccordClient")
    if accord is not None:
        _check_accord(accord)
    services = demande.findall("servicesSouscrits/serviceSouscrit")
    if not services:
        raise malformed("servicesSouscrits vide")
    end = _date(end_text, "dateFin") if end_text else state.today + timedelta(days=365)
    created = []
    for service in services:
        kind = req(service, "typeDonnees")
        if kind not in ("CDC", "IDX", "ENERGIE", "PMAX"):
            raise SgeFault("SGT4Q1")
        option = service.find("optionsPublication/optionPublication")
        periodicity = (
            opt(option, "periodiciteTransmission") if option is not None else None
        ) or "P1D"
        corrected = boolean(
            opt(option, "mesuresCorrigees") if option is not None else None,
            "mesuresCorrigees",
            False,
        )
        created.append(
            _subscribe(
                state,
                point,
                kind,
                "acces",
                state.today,
                end,
                recurrent=option is not None,
                periodicity=periodicity,
                corrected=corrected,
            )
        )
    body = _root(SAD_NS, "commanderServicesAccesDonneesResponse")
    affaires = sub(body, "affaires")
    for subscription in created:
        affaire = sub(affaires, "affaire")
        sub(affaire, "affaireId", subscription.affaire_id)
        fiche, libelle, option_code = _fiche(
            point,
            "CDC" if subscription.kind == "CDC" else "IDX",
            subscription.recurrent,
        )
        _prestation(
            sub(affaire, "prestations"), 1, fiche, libelle, option_code, attr=True
        )
        mesures = sub(affaire, "serviceSouscritMesures")
        sub(mesures, "serviceSouscritId", subscription.service_id)
        sub(mesures, "mesuresTypeCode", subscription.kind)
    return body, [acquittement(login, prm, created[0].affaire_id)]


def _service_ids(demande: ET.Element) -> list[str]:
    ids = [
        e.text.strip()
        for e in demande.iter("serviceSouscritId")
        if e.text and e.text.strip()
    ]
    if not ids:
        raise malformed("serviceSouscritId absent")
    return ids


def _service_affaire(
    state: EmulatorState, affaires: ET.Element, service_id: str
) -> None:
    """The new affaire that answers a change to one subscribed service."""
    affaire = sub(affaires, "affaire")
    sub(affaire, "affaireId", state.new_affaire_id())
    sub(affaire, "serviceSouscritId", service_id)


def stop_access_services(state: EmulatorState, root: ET.Element) -> Answer:
    demande, _, prm, login = _sad_general(state, root)
    _point(state, prm)
    body = _root(ASAD_NS, "commanderArretServicesAccesDonneesResponse")
    affaires = sub(body, "affaires")
    for service_id in _service_ids(demande):
        _stop(state, prm, service_id)
        _service_affaire(state, affaires, service_id)
    return body, [acquittement(login, prm)]


def modify_access_options(state: EmulatorState, root: ET.Element) -> Answer:
    demande, _, prm, login = _sad_general(state, root)
    _point(state, prm)
    body = _root(MOSAD_NS, "commanderModificationOptionsServicesAccesDonneesResponse")
    affaires = sub(body, "affaires")
    for service in demande.findall("servicesSouscrits/serviceSouscrit"):
        service_id = req(service, "serviceSouscritId")
        subscription = state.subscriptions.get(service_id)
        if (
            subscription is None
            or subscription.prm != prm
            or subscription.state != "ACTIF"
        ):
            raise SgeFault("SGT400", "Le service souscrit est inconnu sur ce point.")
        added = service.find("ajouterOptionsPublication/optionPublication")
        removed = service.find("supprimerOptionsPublication/optionPublication")
        if added is not None:
            subscription.recurrent = True
            subscription.periodicity = (
                opt(added, "periodiciteTransmission") or subscription.periodicity
            )
        elif removed is not None:
            subscription.recurrent = False
        _service_affaire(state, affaires, service_id)
    return body, [acquittement(login, prm)]


def renew_access_services(state: EmulatorState, root: ET.Element) -> Answer:
    demande, general, prm, login = _sad_general(state, root)
    _point(state, prm)
    accord = general.find("declarationAccordClient")
    if accord is not None:
        _check_accord(accord)
    end_text = opt(general, "dateFin")
    end = _date(end_text, "dateFin") if end_text else state.today + timedelta(days=365)
    if end > state.today + timedelta(days=366):
        raise SgeFault("SGT4H4")
    body = _root(RNSAD_NS, "commanderRenouvellementServicesAccesDonneesResponse")
    affaires = sub(body, "affaires")
    for service_id in _service_ids(demande):
        subscription = state.subscriptions.get(service_id)
        if subscription is None or subscription.prm != prm:
            raise SgeFault("SGT400", "Le service souscrit est inconnu sur ce point.")
        subscription.end = end
        _service_affaire(state, affaires, service_id)
    return body, [acquittement(login, prm)]


def list_access_services(state: EmulatorState, root: ET.Element) -> Answer:
    prm, _contract_id, login = _search_criteres(state, root)
    body = _root(RSAD_NS, "rechercherServicesAccesDonneesReponse")
    for item, s in _listed(state, prm, body, "servicesSouscrits", "serviceSouscrit"):
        sub(item, "typeDonnees", s.kind)
        _service_state(item, s)
        if s.recurrent:
            option = sub(sub(item, "optionsPublication"), "optionPublication")
            sub(option, "mesuresCorrigees", s.corrected)
            sub(option, "periodiciteTransmission", s.periodicity)
    return body, [acquittement(login, prm)]


# ---------------------------------------------------------------- asynchronous orders


def _m023(service: str, ns: str, root_name: str) -> Handler:
    def handler(state: EmulatorState, root: ET.Element) -> Answer:
        general = root.find("donneesGenerales")
        demande = root.find("demande")
        if general is None or demande is None:
            raise malformed("donneesGenerales ou demande absent")
        _login(state, req(general, "initiateurLogin"))
        _contract(state, req(general, "contratId"))
        prms = [e.text.strip() for e in demande.findall("pointIds/pointId") if e.text]
        if not prms or len(prms) > 10_000:
            raise malformed("pointIds doit compter de 1 à 10 000 points")
        for prm in prms:
            _prm(prm)
        fmt = opt(demande, "format") or "JSON"
        type_code = req(demande, "mesuresTypeCode") if service == "MFI" else None
        sens = req(demande, "sens")
        cadre = req(demande, "cadreAcces")
        if sens not in ("SOUTIRAGE", "INJECTION") or cadre not in (
            "SERVICE_ACCES",
            "ACCORD_CLIENT",
            "EST_TITULAIRE",
        ):
            raise malformed("sens ou cadreAcces inconnu")
        start = end = None
        if service != "ITC":
            start = _date(req(demande, "dateDebut"), "dateDebut")
            end = _date(req(demande, "dateFin"), "dateFin")
            if end <= start:
                raise SgeFault(
                    "SGT400", "La date de début doit précéder la date de fin."
                )
            depth = 731 if type_code == "COURBES" else 1096
            if start < state.today - timedelta(days=depth):
                raise SgeFault("SGT4L8")
        affaire = state.new_affaire_id()
        state.orders[affaire] = Order(
            affaire, service, prms, type_code, start, end, fmt
        )
        body = _root(ns, "affaireId")
        body.text = affaire
        return body, []

    handler.__name__ = f"order_{service.lower()}"
    return handler


def history_hdm(state: EmulatorState, root: ET.Element) -> Answer:
    _, general, history = _demande_with(root, "historiqueMesures")
    prm, login = _general_point(state, general)
    _check_accord(history.find("declarationAccordClient"), "accordClient")
    kind = req(history, "mesureType")
    start = _date(req(history, "dateDebut"), "dateDebut")
    end = _date(req(history, "dateFin"), "dateFin")
    if start < state.today - timedelta(days=731 if kind == "CDC" else 1096):
        raise SgeFault("SGT4L8")
    affaire = state.new_affaire_id()
    state.orders[affaire] = Order(affaire, "HDM", [prm], kind, start, end, "CSV")
    body = _root(HDM_NS, "commanderTransmissionHistoriqueMesuresResponse")
    sub(body, "affaireId", affaire)
    header = ET.Element(f"{{{DC4}}}acquittementP")
    sub(header, "resultat", "Succès", code="SGT200")
    sub(sub(header, "infoDemandeur"), "loginDemandeur", login)
    return body, [header]


def infraj(state: EmulatorState, root: ET.Element) -> Answer:
    _, general, access = _demande_with(root, "accesDonnees")
    prm, login = _general_point(state, general)
    declarations = access.findall("declarationAccordClient")
    if not declarations:
        raise malformed("declarationAccordClient absent")
    for declaration in declarations:
        _check_accord(declaration, "accordClient")
    demand_id = state.new_affaire_id()
    body = _root(INFRAJ_NS, "commanderTransmissionDonneesInfraJResponse")
    sub(body, "demandeId", demand_id)
    return body, [acquittement(login, prm, demand_id)]


_M023_GENERAL = (
    "initiateurLogin",
    "contratId",
    "referenceDemandeur",
    "affaireReference",
    "referenceRegroupement",
)
SEQUENCES: dict[str, dict[str, tuple[str, ...]]] = {
    f"{{{ADP_NS}}}consulterDonneesTechniquesContractuelles": {
        "": ("pointId", "loginUtilisateur", "autorisationClient")
    },
    f"{{{AHC_NS}}}consulterMesures": {
        "": (
            "pointId",
            "loginDemandeur",
            "contratId",
            "contratConcluNouveauClientSurSite",
            "autorisationClient",
        )
    },
    f"{{{CMD3_NS}}}consulterMesuresDetailleesV3": {
        "": ("demande",),
        "demande": (
            "initiateurLogin",
            "pointId",
            "mesuresTypeCode",
            "grandeurPhysique",
            "dateDebut",
            "dateFin",
            "mesuresPas",
            "mesuresCorrigees",
            "sens",
            "cadreAcces",
        ),
    },
    f"{{{RP_NS}}}rechercherPoint": {
        "": ("criteres", "loginUtilisateur"),
        "criteres": (
            "adresseInstallation",
            "numSiret",
            "matriculeOuNumeroSerie",
            "domaineTensionAlimentationCode",
            "nomClientFinalOuDenominationSociale",
            "categorieClientFinalCode",
            "rechercheHorsPerimetre",
        ),
        "criteres/adresseInstallation": (
            "escalierEtEtageEtAppartement",
            "batiment",
            "numeroEtNomVoie",
            "lieuDit",
            "codePostal",
            "codeInseeCommune",
        ),
    },
    f"{{{CCPM_NS}}}commanderCollectePublicationMesures": {
        "": ("demande",),
        "demande": ("donneesGenerales", "accesMesures"),
        "demande/donneesGenerales": (
            "refExterne",
            "objetCode",
            "pointId",
            "initiateurLogin",
            "contratId",
        ),
        "demande/accesMesures": (
            "dateDebut",
            "dateFin",
            "declarationAccordClient",
            "mesuresTypeCode",
            "soutirage",
            "injection",
            "mesuresPas",
            "mesuresCorrigees",
            "transmissionRecurrente",
            "periodiciteTransmission",
        ),
        "demande/accesMesures/declarationAccordClient": (
            "accord",
            "personnePhysique",
            "personneMorale",
        ),
    },
    f"{{{RSSM_NS}}}rechercherServicesSouscritsMesures": {
        "": ("criteres", "loginUtilisateur"),
        "criteres": ("pointId", "contratId"),
    },
    f"{{{ASS_NS}}}commanderArretServiceSouscritMesures": {
        "": ("demande",),
        "demande": ("donneesGenerales", "arretServiceSouscrit"),
        "demande/donneesGenerales": (
            "refFrn",
            "objetCode",
            "pointId",
            "initiateurLogin",
            "contratId",
        ),
        "demande/arretServiceSouscrit": ("serviceSouscritId",),
    },
    f"{{{MFI_NS}}}demandePublicationMesuresFines": {
        "": ("donneesGenerales", "demande"),
        "donneesGenerales": _M023_GENERAL,
        "demande": (
            "format",
            "pointIds",
            "mesuresTypeCode",
            "mesuresCorrigees",
            "dateDebut",
            "dateFin",
            "sens",
            "cadreAcces",
        ),
    },
    f"{{{MFA_NS}}}demandePublicationMesuresFacturantes": {
        "": ("donneesGenerales", "demande"),
        "donneesGenerales": _M023_GENERAL,
        "demande": (
            "format",
            "pointIds",
            "mesuresCorrigees",
            "dateDebut",
            "dateFin",
            "sens",
            "cadreAcces",
        ),
    },
    f"{{{ITC_NS}}}demandePublicationITC": {
        "": ("donneesGenerales", "demande"),
        "donneesGenerales": _M023_GENERAL,
        "demande": ("format", "pointIds", "sens", "cadreAcces"),
    },
}
"""The ``xs:sequence`` of each request container the interop note spells out
(sge-interop.md §3), element by element; services whose trees it leaves open
(the services d'accès family, HDM, InfraJ) are checked by their handlers only."""

SERVICES: tuple[Service, ...] = (
    Service(
        "/ConsultationDonneesTechniquesContractuelles/v1.0",
        f"{{{ADP_NS}}}consulterDonneesTechniquesContractuelles",
        technical_data,
    ),
    Service("/ConsultationMesures/v1.1", f"{{{AHC_NS}}}consulterMesures", measures),
    Service(
        "/ConsultationMesuresDetaillees/v3.0",
        f"{{{CMD3_NS}}}consulterMesuresDetailleesV3",
        detailed_v3,
        header=None,
    ),
    Service(
        "/ConsultationMesuresDetaillees/v2.0",
        f"{{{CMD2_NS}}}consulterMesuresDetaillees",
        detailed_v2,
        header=None,
    ),
    Service("/RecherchePoint/v2.0", f"{{{RP_NS}}}rechercherPoint", search_point),
    Service(
        "/CommandeCollectePublicationMesures/v3.0",
        f"{{{CCPM_NS}}}commanderCollectePublicationMesures",
        collect_publish,
    ),
    Service(
        "/RechercheServicesSouscritsMesures/v1.0",
        f"{{{RSSM_NS}}}rechercherServicesSouscritsMesures",
        list_subscriptions,
    ),
    Service(
        "/CommandeArretServiceSouscritMesures/v1.0",
        f"{{{ASS_NS}}}commanderArretServiceSouscritMesures",
        stop_subscription,
    ),
    Service(
        "/CommanderAccesDonneesMesures/v1.0",
        f"{{{CADM_NS}}}commanderAccesDonneesMesures",
        access_data_measures,
    ),
    Service(
        "/CommandeServicesAccesDonnees/v1.0",
        f"{{{SAD_NS}}}commanderServicesAccesDonnees",
        access_services,
    ),
    Service(
        "/CommandeArretServicesAccesDonnees/v1.0",
        f"{{{ASAD_NS}}}commanderArretServicesAccesDonnees",
        stop_access_services,
    ),
    Service(
        "/CommandeModificationOptionsServicesAccesDonnees/v1.0",
        f"{{{MOSAD_NS}}}commanderModificationOptionsServicesAccesDonnees",
        modify_access_options,
    ),
    Service(
        "/CommandeRenouvellementServicesAccesDonnees/v1.0",
        f"{{{RNSAD_NS}}}commanderRenouvellementServicesAccesDonnees",
        renew_access_services,
    ),
    Service(
        "/RechercheServicesAccesDonnees/v1.0",
        f"{{{RSAD_NS}}}rechercherServicesAccesDonnees",
        list_access_services,
    ),
    Service(
        "/CommandeHistoriqueDonneesMesuresFines/v1.0",
        f"{{{MFI_NS}}}demandePublicationMesuresFines",
        _m023("MFI", MFI_NS, "demandePublicationMesuresFines"),
        header=None,
    ),
    Service(
        "/CommandeHistoriqueDonneesMesuresFacturantes/v1.0",
        f"{{{MFA_NS}}}demandePublicationMesuresFacturantes",
        _m023("MFA", MFA_NS, "demandePublicationMesuresFacturantes"),
        header=None,
    ),
    Service(
        "/CommandeInformationsTechniquesEtContractuelles/v1.0",
        f"{{{ITC_NS}}}demandePublicationITC",
        _m023("ITC", ITC_NS, "demandePublicationITC"),
        header=None,
    ),
    Service(
        "/CommandeTransmissionHistoriqueMesures/v1.0",
        f"{{{HDM_NS}}}commanderTransmissionHistoriqueMesures",
        history_hdm,
        hdm=True,
        header="enteteP",
    ),
    Service(
        "/CommandeTransmissionDonneesInfraJ/v1.0",
        f"{{{INFRAJ_NS}}}commanderTransmissionDonneesInfraJ",
        infraj,
    ),
)
ROUTES: dict[tuple[str, str], Service] = {(s.path, s.root): s for s in SERVICES}
PATHS: frozenset[str] = frozenset(s.path for s in SERVICES)
