"""ADICT access rights ↔ SEN1 (pure).

GRDF's state machine: ``A valider`` (declared, waiting for the holder) →
``Active`` → ``Révoquée`` (by the holder or the third party) or ``Obsolète``
(its end date passed); ``Refusée`` when the holder says no. States are compared
without case or accents (``À valider`` = ``A valider``), as GRDF itself writes
both. Data is collected only for :attr:`RightState.ACTIVE` and only inside
``perim_donnees_conso_debut..fin`` (inclusive gas days).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from energy_core.domain.ids import Pce
from energy_core.errors import PayloadInvalidError

PERIMS = (
    "perim_donnees_contractuelles",
    "perim_donnees_techniques",
    "perim_donnees_informatives",
    "perim_donnees_publiees",
)


class RightState(StrEnum):
    """SEN1's view of a GRDF access right (also the consent registry's wording)."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REFUSED = "refused"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()
    )


_STATES = {
    "a valider": RightState.PENDING,
    "active": RightState.ACTIVE,
    "revoquee": RightState.REVOKED,
    "obsolete": RightState.EXPIRED,
    "refusee": RightState.REFUSED,
}


def state_of(text: Any) -> RightState:
    """GRDF's ``etat_droit_acces`` in SEN1's words; unknown → PayloadInvalidError."""
    state = _STATES.get(_fold(str(text)))
    if state is None:
        raise PayloadInvalidError("etat_droit_acces: unknown state")
    return state


def _bool(value: Any) -> bool:
    return (isinstance(value, bool) and value) or _fold(str(value)) == "vrai"


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise PayloadInvalidError(f"{field}: not a date") from exc


@dataclass(frozen=True, slots=True)
class AccessRight:
    """One right as ADICT lists it (only what collection needs)."""

    right_id: str
    pce: Pce
    state: RightState
    start: date
    end: date
    data_from: date | None
    data_until: date | None
    """Inclusive gas days of data the right covers (``perim_donnees_conso_*``)."""
    informatives: bool
    published: bool
    contractual: bool
    technical: bool
    injection: bool = False
    """An injection point (biomethane): its data window is ``perim_donnees_inj_*``
    and its published data comes from ``donnees_injections_publiees``."""
    proof: str | None = None
    """GRDF's proof check in SEN1's words (``requested``, ``checking``, ``ok``,
    ``ko``; None: GRDF asked nothing): ``requested`` and ``ko`` need the holder's
    files before ``proof_deadline``."""
    proof_deadline: date | None = None

    def collectable(self, today: date) -> bool:
        """Active, inside its own dates: the only rights data is asked under."""
        return self.state is RightState.ACTIVE and self.start <= today <= self.end

    def clamp(self, first: date, after: date) -> tuple[date, date] | None:
        """``[first, after)`` within the data window, or None when nothing is left."""
        if self.data_from is not None:
            first = max(first, self.data_from)
        if self.data_until is not None:
            after = min(after, date.fromordinal(self.data_until.toordinal() + 1))
        return (first, after) if first < after else None


_PROOFS = {
    "preuve en attente": "requested",
    "preuve en cours de verification": "checking",
    "preuve verifiee ok": "ok",
    "preuve verifiee ko": "ko",
}


def proof_of(text: Any) -> str | None:
    """``statut_controle_preuve`` in SEN1's words; absent or unknown → None
    (an unknown wording is not a request SEN1 could answer)."""
    if text in (None, ""):
        return None
    return _PROOFS.get(_fold(str(text)))


def map_right(obj: dict[str, Any]) -> AccessRight:
    """One object of ``droits_acces`` (its trailer is filtered by the parser)."""
    try:
        right_id = str(obj["id_droit_acces"])
        pce = Pce(str(obj["id_pce"]))
    except (KeyError, ValueError) as exc:
        raise PayloadInvalidError("id_droit_acces/id_pce: missing or invalid") from exc
    injection = "INJECTION" in str(obj.get("role_tiers", ""))
    window = "inj" if injection else "conso"
    start = _day(obj.get("date_debut_droit_acces"), "date_debut_droit_acces")
    end = _day(obj.get("date_fin_droit_acces"), "date_fin_droit_acces")
    if start is None or end is None:
        raise PayloadInvalidError("date_debut/fin_droit_acces: missing")
    return AccessRight(
        right_id=right_id,
        pce=pce,
        state=state_of(obj.get("etat_droit_acces")),
        start=start,
        end=end,
        data_from=_day(
            obj.get(f"perim_donnees_{window}_debut"), f"perim_donnees_{window}_debut"
        ),
        data_until=_day(
            obj.get(f"perim_donnees_{window}_fin"), f"perim_donnees_{window}_fin"
        ),
        informatives=_bool(obj.get("perim_donnees_informatives")),
        published=_bool(obj.get("perim_donnees_publiees")),
        contractual=_bool(obj.get("perim_donnees_contractuelles")),
        technical=_bool(obj.get("perim_donnees_techniques")),
        injection=injection,
        proof=proof_of(obj.get("statut_controle_preuve")),
        proof_deadline=_day(
            obj.get("date_limite_transmission_preuve"),
            "date_limite_transmission_preuve",
        ),
    )


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the PCE, as the resident or the property manager typed it."""

    name: str | None
    company: str | None
    email: str
    postcode: str


def declaration_body(
    holder: Holder,
    today: date,
    until: date,
    data_from: date,
    data_until: date,
    role: str = "AUTORISE_CONTRAT_FOURNITURE",
    scopes: frozenset[str] | None = None,
) -> dict[str, Any]:
    """``PUT /pce/{id}/droit_acces``: the scopes asked (every one SEN1 uses
    unless ``scopes`` names some of ``PERIMS``), the data window asked."""
    if (holder.name is None) == (holder.company is None):
        raise ValueError("a holder is a person or a company, not both")
    body: dict[str, Any] = {
        "role_tiers": role,
        "courriel_titulaire": holder.email,
        "code_postal": holder.postcode,
        "date_debut_droit_acces": today.isoformat(),
        "date_fin_droit_acces": until.isoformat(),
        "perim_donnees_conso_debut": data_from.isoformat(),
        "perim_donnees_conso_fin": data_until.isoformat(),
        **{p: "Vrai" if scopes is None or p in scopes else "Faux" for p in PERIMS},
    }
    if holder.name is not None:
        body["nom_titulaire"] = holder.name
    else:
        body["raison_sociale"] = holder.company
    return body
