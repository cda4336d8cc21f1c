"""The access-rights state machine (grdf-flukso-p1.md §1.6.1-§1.6.3), no HTTP.

``A valider`` -> ``Active`` (holder accepts) or ``Refusée`` (holder refuses);
``Active`` -> ``Révoquée`` (third party's PATCH, the holder or GRDF) or
``Obsolète`` (its ``date_fin_droit_acces`` has passed: computed from the
clock, so moving the clock expires a right as time does). Rights belong to the
third party (OAuth client) that declared them; another client never sees them.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from grdf_emulator.profiles import GasMeter
from grdf_emulator.validation import Declaration, Invalid, bool_text

ACTIVE = "Active"
PENDING = "A valider"
REVOKED = "Révoquée"
OBSOLETE = "Obsolète"
REFUSED = "Refusée"
RECHECK = "A revérifier"
PROOF_PENDING = "Preuve en attente"
PROOF_CHECKING = "Preuve en cours de vérification"
PROOF_OK = "Preuve Vérifiée OK"
PROOF_KO = "Preuve Vérifiée KO"

SUCCESS = {
    "code_statut_traitement": "0000000000",
    "message_retour_traitement": "L'opération s'est déroulée avec succès.",
}


def _fold(text: str) -> str:
    """Case- and accent-insensitive form (``À valider`` == ``A valider``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _stamp(moment: datetime) -> str:
    """ADICT's creation stamps: local time, a space, no offset."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(slots=True)
class AccessRight:
    id_droit_acces: str
    client_id: str
    id_pce: str
    role_tiers: str
    code_postal: str
    nom_titulaire: str | None
    raison_sociale_du_titulaire: str | None
    courriel_titulaire: str
    numero_telephone_mobile_titulaire: str | None
    date_debut_droit_acces: date
    date_fin_droit_acces: date
    perim_conso: tuple[date, date] | None
    perim_inj: tuple[date, date] | None
    perims: dict[str, bool]
    date_creation: datetime
    etat: str = PENDING
    parcours: str = "TIERS_DIRECT"
    statut_controle_preuve: str | None = None
    date_limite_transmission_preuve: date | None = None
    date_revocation: datetime | None = None
    source_revocation: str | None = None
    date_passage_a_refuse: datetime | None = None
    source_passage_a_refuse: str | None = None
    proofs: list[tuple[str, int]] = field(default_factory=list)

    def state(self, today: date) -> str:
        """The state as GRDF reports it today (an expired Active is Obsolète; an
        Active whose asked proofs did not pass by their deadline is Révoquée by
        GRDF)."""
        if self.proof_lapsed(today):
            return REVOKED
        if self.etat in (ACTIVE, PENDING) and self.date_fin_droit_acces < today:
            return OBSOLETE
        return self.etat

    def proof_lapsed(self, today: date) -> bool:
        """GRDF asked proofs (or found them KO) and their deadline has passed
        without valid ones: GRDF revokes the right the day after the deadline
        (computed from the clock, as expiry is)."""
        deadline = self.date_limite_transmission_preuve
        return (
            self.etat in (ACTIVE, PENDING)
            and self.statut_controle_preuve in (PROOF_PENDING, PROOF_KO)
            and deadline is not None
            and deadline < today
        )

    def revocation(self, today: date) -> tuple[str | None, str | None]:
        """(``date_revocation``, ``source_revocation``) as listed today."""
        deadline = self.date_limite_transmission_preuve
        if self.proof_lapsed(today) and deadline is not None:
            return f"{(deadline + timedelta(days=1)).isoformat()} 00:00:00", "GRDF"
        stamp = None if self.date_revocation is None else _stamp(self.date_revocation)
        return stamp, self.source_revocation

    def to_json(
        self, today: date, third_party: str, lower_bools: bool
    ) -> dict[str, Any]:
        """``liste_acces_out`` (lists use the Swagger's lowercase booleans)."""

        def text(value: bool) -> str:
            return bool_text(value).lower() if lower_bools else bool_text(value)

        state = self.state(today)
        revoked_on, revoked_by = self.revocation(today)
        obsolete_since = None
        if state == OBSOLETE:
            obsolete_since = (self.date_fin_droit_acces + timedelta(days=1)).isoformat()
        conso = self.perim_conso or (None, None)
        inj = self.perim_inj or (None, None)
        return {
            "id_droit_acces": self.id_droit_acces,
            "id_pce": self.id_pce,
            "role_tiers": self.role_tiers,
            "raison_sociale_du_tiers": third_party,
            "nom_titulaire": self.nom_titulaire,
            "raison_sociale_du_titulaire": self.raison_sociale_du_titulaire,
            "courriel_titulaire": self.courriel_titulaire,
            "numero_telephone_mobile_titulaire": self.numero_telephone_mobile_titulaire,
            "code_postal": self.code_postal,
            "date_creation": _stamp(self.date_creation),
            "date_debut_droit_acces": self.date_debut_droit_acces.isoformat(),
            "date_fin_droit_acces": self.date_fin_droit_acces.isoformat(),
            "perim_donnees_conso_debut": conso[0] and conso[0].isoformat(),
            "perim_donnees_conso_fin": conso[1] and conso[1].isoformat(),
            "perim_donnees_inj_debut": inj[0] and inj[0].isoformat(),
            "perim_donnees_inj_fin": inj[1] and inj[1].isoformat(),
            **{name: text(value) for name, value in self.perims.items()},
            "etat_droit_acces": state,
            "date_revocation": revoked_on,
            "source_revocation": revoked_by,
            "date_passage_a_obsolete": obsolete_since,
            "source_passage_a_obsolete": "GRDF" if obsolete_since else None,
            "date_passage_a_refuse": self.date_passage_a_refuse
            and _stamp(self.date_passage_a_refuse),
            "source_passage_a_refuse": self.source_passage_a_refuse,
            "parcours": self.parcours,
            "statut_controle_preuve": self.statut_controle_preuve,
            "date_limite_transmission_preuve": self.date_limite_transmission_preuve
            and self.date_limite_transmission_preuve.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """A functional error of a data call: HTTP 200, ``statut_restitution``."""

    code: str
    message: str


NO_RIGHT = Refusal("1000002", "Vous ne disposez pas de droit d'accès sur ce PCE.")
EXPIRED = Refusal("1000001", "Le droit d'accès a expiré.")
REVOKED_BY_YOU = Refusal("1000014", "Le droit d'accès a été révoqué par vos soins.")
REVOKED_BY_HOLDER = Refusal(
    "1000014", "Le titulaire du PCE a révoqué son consentement."
)
PROOF_INVALID = Refusal(
    "1000011",
    "Le droit d'accès a été révoqué par GRDF : la preuve du consentement n'a pas "
    "été transmise ou n'est pas valide.",
)
NO_PUBLISHED = Refusal(
    "1000009", "Le périmètre du droit d'accès n'inclut pas les données publiées."
)
NO_INFORMATIVE = Refusal(
    "1000010", "Le périmètre du droit d'accès n'inclut pas les données informatives."
)
NO_DATA = Refusal("1000008", "Aucune donnée n'est disponible sur la période demandée.")
PARTIAL = Refusal(
    "2000100",
    "Une erreur serveur partielle est survenue, retentez votre appel sur la période "
    "mentionnée ci-dessus.",
)


class Rights:
    """Every access right of the emulator, keyed by id."""

    def __init__(self) -> None:
        self.by_id: dict[str, AccessRight] = {}

    def of(self, client_id: str, pce: str) -> list[AccessRight]:
        return [
            r
            for r in self.by_id.values()
            if r.client_id == client_id and r.id_pce == pce
        ]

    def get(self, client_id: str, right_id: str) -> AccessRight | None:
        right = self.by_id.get(right_id)
        return right if right is not None and right.client_id == client_id else None

    def declare(
        self,
        client_id: str,
        meter: GasMeter | None,
        pce: str,
        decl: Declaration,
        now: datetime,
    ) -> AccessRight:
        """A new ``A valider`` right, or :class:`Invalid` (404/409) when refused."""
        today = now.date()
        if meter is None:
            raise Invalid("Le PCE est inconnu.", "1000000006", 404)
        if decl.code_postal != meter.address.code_postal:
            raise Invalid(
                "Le code postal ne correspond pas à l'adresse du PCE.",
                "1000000005",
                409,
            )
        if meter.out_of_service is not None and meter.out_of_service <= today:
            raise Invalid(
                "Le contrat de fourniture de gaz est résilié.", "1000000004", 409
            )
        for right in self.of(client_id, pce):
            if right.role_tiers != decl.role_tiers:
                continue
            state = right.state(today)
            if state == ACTIVE:
                raise Invalid("Le droit d'accès existe déjà.", "1000000003", 409)
            if state == PENDING:
                raise Invalid(
                    "Un droit d'accès est déjà en attente de validation par le "
                    "titulaire du PCE.",
                    "1000000003",
                    409,
                )
        right = AccessRight(
            id_droit_acces=str(uuid.uuid4()),
            client_id=client_id,
            id_pce=pce,
            role_tiers=decl.role_tiers,
            code_postal=decl.code_postal,
            nom_titulaire=decl.nom_titulaire,
            raison_sociale_du_titulaire=decl.raison_sociale,
            courriel_titulaire=decl.courriel_titulaire,
            numero_telephone_mobile_titulaire=decl.numero_telephone_mobile_titulaire,
            date_debut_droit_acces=decl.date_debut_droit_acces,
            date_fin_droit_acces=decl.date_fin_droit_acces,
            perim_conso=decl.perim_conso,
            perim_inj=decl.perim_inj,
            perims=dict(decl.perims),
            date_creation=now,
        )
        self.by_id[right.id_droit_acces] = right
        return right

    @staticmethod
    def holder_matches(right: AccessRight, meter: GasMeter) -> bool:
        """Whether the declared identity is the holder GRDF e-mails (and who accepts)."""
        holder = meter.holder
        if _fold(right.courriel_titulaire) != _fold(holder.courriel):
            return False
        if holder.nom is not None:
            return _fold(right.nom_titulaire or "") == _fold(holder.nom)
        return _fold(right.raison_sociale_du_titulaire or "") == _fold(
            holder.raison_sociale or ""
        )

    @staticmethod
    def accept(right: AccessRight, today: date) -> None:
        if right.state(today) != PENDING:
            raise Invalid(
                "Le droit d'accès n'est pas en attente de validation.",
                "2000000003",
                409,
            )
        right.etat = ACTIVE

    @staticmethod
    def refuse(right: AccessRight, now: datetime) -> None:
        if right.state(now.date()) != PENDING:
            raise Invalid(
                "Le droit d'accès n'est pas en attente de validation.",
                "2000000003",
                409,
            )
        right.etat = REFUSED
        right.date_passage_a_refuse = now
        right.source_passage_a_refuse = "Titulaire"

    @staticmethod
    def revoke(right: AccessRight, now: datetime, source: str) -> None:
        """PATCH by the third party (``Tiers``), or the holder/GRDF via hooks."""
        if right.state(now.date()) not in (ACTIVE, PENDING):
            raise Invalid(
                "Le droit d'accès ne peut pas être révoqué dans son état actuel.",
                "2000000003",
                409,
            )
        if source == "Tiers" and not right.role_tiers.startswith("AUTORISE"):
            raise Invalid(
                "Seul un tiers autorisé peut révoquer ce droit d'accès.",
                "2000000003",
                409,
            )
        right.etat = REVOKED
        right.date_revocation = now
        right.source_revocation = source

    def data_right(
        self, client_id: str, pce: str, perim: str, today: date, injection: bool = False
    ) -> AccessRight | Refusal:
        """The right that allows a data call, or the functional error to return.

        An Active right in scope wins; otherwise the most telling refusal of the
        client's rights on the PCE (revoked, then expired, then out of scope).
        """
        rights = [
            r
            for r in self.of(client_id, pce)
            if ("INJECTION" in r.role_tiers) == injection
        ]
        active = [r for r in rights if r.state(today) == ACTIVE]
        for right in active:
            if right.perims.get(perim, False):
                return right
        if active:
            return (
                NO_INFORMATIVE
                if perim == "perim_donnees_informatives"
                else NO_PUBLISHED
            )
        states = {r.state(today): r for r in rights}
        if REVOKED in states:
            source = states[REVOKED].revocation(today)[1]
            if source == "GRDF":
                return PROOF_INVALID
            return REVOKED_BY_YOU if source == "Tiers" else REVOKED_BY_HOLDER
        if OBSOLETE in states:
            return EXPIRED
        return NO_RIGHT

    def listing(
        self,
        client_id: str,
        today: date,
        filters: dict[str, list[str]] | None = None,
    ) -> list[AccessRight]:
        """The client's rights, filtered (lists or strings; states accent-insensitive)."""
        out = []
        for right in self.by_id.values():
            if right.client_id != client_id:
                continue
            if filters:
                if filters.get("id_pce") and right.id_pce not in filters["id_pce"]:
                    continue
                if (
                    filters.get("role_tiers")
                    and right.role_tiers not in filters["role_tiers"]
                ):
                    continue
                states = filters.get("etat_droit_acces")
                if states and _fold(right.state(today)) not in {
                    _fold(s) for s in states
                }:
                    continue
                proofs = filters.get("statut_controle_preuve")
                if proofs and (
                    right.statut_controle_preuve is not None
                    and _fold(right.statut_controle_preuve)
                    not in {_fold(p) for p in proofs}
                ):
                    continue
            out.append(right)
        return sorted(out, key=lambda r: (r.id_pce, r.date_creation))
