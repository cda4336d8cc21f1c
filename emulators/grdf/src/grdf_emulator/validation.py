"""Request validation with ADICT's French messages (pure: no HTTP, no state).

The rules are grdf-flukso-p1.md §1.6.1 and §1.6.4. Where the contract gives a
rule but not its code, the emulator uses one code per family and says so in
the README (``1000005`` for consumption queries, ``1000000026`` for declarations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

PCE_RE = re.compile(r"(^GI\d{6}$|^\d{14}$)")
PERIODE_RE = re.compile(
    r"(^\d{4}$)|(^PN-\d{4}$)|(^\d{4}-\d{2}$)|(^PN-\d{4}-\d{2}$)|(^\d{4}-W\d{2}$)"
    r"|(^PN-\d{4}-W\d{2}$)|(^PN-\d{4}-W\d{2}-\d{1}$)|(^\d{4}-\d{3})$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTCODE_RE = re.compile(r"^\d{5}$")
_MOBILE_RE = re.compile(r"^0[67]\d{8}$")

QUERY_CODE = "1000005"
DECLARE_CODE = "1000000026"

ROLES = (
    "AUTORISE_CONTRAT_FOURNITURE",
    "DETENTEUR_CONTRAT_FOURNITURE",
    "AUTORISE_CONTRAT_INJECTION",
    "DETENTEUR_CONTRAT_INJECTION",
)
PERIMS = (
    "perim_donnees_contractuelles",
    "perim_donnees_techniques",
    "perim_donnees_informatives",
    "perim_donnees_publiees",
)
INFORMATIVE_YEARS = 3
PUBLISHED_YEARS = 5


class Invalid(ValueError):
    """A rejected request: the HTTP status, the ADICT code and the French message."""

    def __init__(self, message: str, code: str = QUERY_CODE, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def parse_bool(value: Any, field: str) -> bool:
    """``Vrai``/``Faux`` in any case (the Swagger itself mixes ``vrai`` and ``Vrai``)."""
    if isinstance(value, str) and value.lower() in ("vrai", "faux"):
        return value.lower() == "vrai"
    raise Invalid(
        f"Le champ {field} doit valoir Vrai ou Faux.", DECLARE_CODE, status=400
    )


def bool_text(value: bool) -> str:
    return "Vrai" if value else "Faux"


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _parse_date(value: str, field: str) -> date:
    if not _DATE_RE.match(value):
        raise Invalid(f"Le format de la date {field} est incorrect (AAAA-MM-JJ).")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"La date {field} n'est pas une date valide.") from None


def _periode_range(periode: str) -> tuple[date, date]:
    """[start, end) of a ``periode`` value.

    ``PN-`` is read as the same period (its meaning is unverified upstream).
    """
    text = periode.removeprefix("PN-")
    try:
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return date(year, 1, 1), date(year + 1, 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:])
            start = date(year, month, 1)
            return start, date(year + month // 12, month % 12 + 1, 1)
        if re.fullmatch(r"\d{4}-W\d{2}", text):
            start = date.fromisocalendar(int(text[:4]), int(text[6:8]), 1)
            return start, start + timedelta(days=7)
        if re.fullmatch(r"\d{4}-W\d{2}-\d", text):
            start = date.fromisocalendar(int(text[:4]), int(text[6:8]), int(text[9]))
            return start, start + timedelta(days=1)
        if re.fullmatch(r"\d{4}-\d{3}", text):
            start = date(int(text[:4]), 1, 1) + timedelta(days=int(text[5:]) - 1)
            if start.year != int(text[:4]) or int(text[5:]) < 1:
                raise ValueError(text)
            return start, start + timedelta(days=1)
    except ValueError:
        pass
    raise Invalid("La période demandée n'est pas une période valide.")


@dataclass(frozen=True, slots=True)
class Window:
    """The validated query: gas days [start, end) and the ``periode`` echoed back."""

    start: date
    end: date
    periode: str | None


def consumption_window(
    query: dict[str, str], today: date, history_years: int
) -> Window:
    """``periode`` XOR (``date_debut`` and ``date_fin``), formats, order, history.

    ``date_fin`` is exclusive: the last gas day served is ``date_fin - 1``, which
    is why ``date_fin`` may be today but not later.
    """
    periode = query.get("periode")
    debut, fin = query.get("date_debut"), query.get("date_fin")
    if periode is not None and (debut is not None or fin is not None):
        raise Invalid(
            "Les paramètres periode et date_debut/date_fin sont mutuellement exclusifs."
        )
    if periode is None and debut is None and fin is None:
        raise Invalid(
            "Le paramètre periode ou les paramètres date_debut et date_fin sont obligatoires."
        )
    if periode is not None:
        if not PERIODE_RE.search(periode):
            raise Invalid("Le format du paramètre periode est incorrect.")
        start, end = _periode_range(periode)
        end = min(end, today)  # a period that is not over yet is served up to today
        if start >= end:
            raise Invalid(
                "La date de fin doit être antérieure ou égale à la date du jour."
            )
    else:
        if debut is None:
            raise Invalid("Le paramètre date_debut est obligatoire.")
        if fin is None:
            raise Invalid("Le paramètre date_fin est obligatoire.")
        start, end = _parse_date(debut, "date_debut"), _parse_date(fin, "date_fin")
        if start >= end:
            raise Invalid(
                "La date de début doit être strictement antérieure à la date de fin."
            )
        if end > today:
            raise Invalid(
                "La date de fin doit être antérieure ou égale à la date du jour."
            )
    if start < _years_before(today, history_years):
        raise Invalid(
            f"La date de début ne peut pas être antérieure à {history_years} ans."
        )
    return Window(start, end, periode)


@dataclass(frozen=True, slots=True)
class Declaration:
    """A validated ``demander_acces_in`` body."""

    role_tiers: str
    code_postal: str
    nom_titulaire: str | None
    raison_sociale: str | None
    courriel_titulaire: str
    numero_telephone_mobile_titulaire: str | None
    date_debut_droit_acces: date
    date_fin_droit_acces: date
    perim_conso: tuple[date, date] | None
    perim_inj: tuple[date, date] | None
    perims: dict[str, bool]


def _declare_date(body: dict[str, Any], field: str, required: bool) -> date | None:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise Invalid(f"Le champ {field} est obligatoire.", DECLARE_CODE)
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise Invalid(
            f"Le format du champ {field} est incorrect (AAAA-MM-JJ).", DECLARE_CODE
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"Le champ {field} n'est pas une date valide.", DECLARE_CODE
        ) from None


def declaration(body: Any, today: date) -> Declaration:
    """Validates a declaration body; formats are 400, date/scope rules are 409."""
    if not isinstance(body, dict):
        raise Invalid("La forme de la requête est incorrecte.", "1000000000")
    role = body.get("role_tiers")
    if not role:
        raise Invalid("Le rôle du tiers est obligatoire.", DECLARE_CODE)
    if role not in ROLES:
        raise Invalid("Le rôle du tiers est incorrect.", DECLARE_CODE)
    nom, raison = body.get("nom_titulaire"), body.get("raison_sociale")
    if not nom and not raison:
        raise Invalid(
            "Le nom du titulaire ou la raison sociale du titulaire est obligatoire.",
            DECLARE_CODE,
        )
    if nom and raison:
        raise Invalid(
            "Le nom du titulaire et la raison sociale du titulaire ne peuvent pas "
            "être renseignés simultanément.",
            DECLARE_CODE,
        )
    email = body.get("courriel_titulaire")
    if not isinstance(email, str) or not _EMAIL_RE.match(email):
        raise Invalid("Le format du courriel du titulaire est incorrect.", DECLARE_CODE)
    postcode = body.get("code_postal")
    if not isinstance(postcode, str) or not _POSTCODE_RE.match(postcode):
        raise Invalid("Le format du code postal est incorrect.", DECLARE_CODE)
    phone = body.get("numero_telephone_mobile_titulaire")
    if phone is not None and (
        not isinstance(phone, str) or not _MOBILE_RE.match(phone)
    ):
        raise Invalid(
            "Le format du numéro de téléphone mobile du titulaire est incorrect.",
            DECLARE_CODE,
        )
    perims = {}
    for field in PERIMS:
        if field not in body:
            raise Invalid(f"Le champ {field} est obligatoire.", DECLARE_CODE)
        perims[field] = parse_bool(body[field], field)
    debut = _declare_date(body, "date_debut_droit_acces", True)
    fin = _declare_date(body, "date_fin_droit_acces", True)
    if debut is None or fin is None:  # required above; narrows the type
        raise Invalid("Les dates du droit d'accès sont obligatoires.", DECLARE_CODE)
    supply = "FOURNITURE" in role
    conso = (
        _declare_date(body, "perim_donnees_conso_debut", supply),
        _declare_date(body, "perim_donnees_conso_fin", supply),
    )
    inj = (
        _declare_date(body, "perim_donnees_inj_debut", not supply),
        _declare_date(body, "perim_donnees_inj_fin", not supply),
    )
    if debut > today:
        raise Invalid(
            "La date de début du droit d'accès doit être antérieure ou égale à la "
            "date du jour.",
            "1000000022",
            409,
        )
    if fin < today:
        raise Invalid(
            "La date de fin du droit d'accès doit être postérieure ou égale à la "
            "date du jour.",
            "1000000022",
            409,
        )
    window = conso if supply else inj
    if window[0] is None or window[1] is None:
        raise Invalid(
            "Le périmètre de données est incohérent avec le rôle.", "1000000022", 409
        )
    if window[0] > window[1] or window[1] > fin:
        raise Invalid(
            "Le périmètre de données est incohérent : la date de fin doit être "
            "postérieure à la date de début et antérieure à la fin du droit d'accès.",
            "1000000022",
            409,
        )
    return Declaration(
        role_tiers=role,
        code_postal=postcode,
        nom_titulaire=nom or None,
        raison_sociale=raison or None,
        courriel_titulaire=email,
        numero_telephone_mobile_titulaire=phone,
        date_debut_droit_acces=debut,
        date_fin_droit_acces=fin,
        perim_conso=(window[0], window[1]) if supply else None,
        perim_inj=None if supply else (window[0], window[1]),
        perims=perims,
    )
