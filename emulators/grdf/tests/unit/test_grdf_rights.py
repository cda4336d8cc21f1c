"""The access-rights state machine, without HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from energy_core.domain import PARIS
from grdf_emulator import demo_meters
from grdf_emulator.rights import (
    EXPIRED,
    NO_INFORMATIVE,
    NO_RIGHT,
    PROOF_INVALID,
    PROOF_KO,
    PROOF_OK,
    PROOF_PENDING,
    REVOKED_BY_HOLDER,
    REVOKED_BY_YOU,
    Rights,
)
from grdf_emulator.validation import Invalid, declaration

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()
HOME = demo_meters()[0]


def declare(rights: Rights, client: str = "a", **overrides: object):
    body: dict[str, object] = {
        "role_tiers": "AUTORISE_CONTRAT_FOURNITURE",
        "code_postal": "38130",
        "nom_titulaire": HOME.holder.nom,
        "courriel_titulaire": HOME.holder.courriel,
        "date_debut_droit_acces": "2026-11-01",
        "date_fin_droit_acces": "2027-11-01",
        "perim_donnees_conso_debut": "2024-01-01",
        "perim_donnees_conso_fin": "2027-11-01",
        "perim_donnees_contractuelles": "Vrai",
        "perim_donnees_techniques": "Vrai",
        "perim_donnees_informatives": "Vrai",
        "perim_donnees_publiees": "Vrai",
    }
    body.update(overrides)
    return rights.declare(client, HOME, HOME.pce, declaration(body, TODAY), NOW)


def test_pending_then_active_then_revoked_by_you() -> None:
    rights = Rights()
    right = declare(rights)
    assert right.state(TODAY) == "A valider"
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_informatives", TODAY)
        == NO_RIGHT
    )
    rights.accept(right, TODAY)
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_informatives", TODAY) is right
    )
    rights.revoke(right, NOW, "Tiers")
    assert right.state(TODAY) == "Révoquée"
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_informatives", TODAY)
        == REVOKED_BY_YOU
    )
    with pytest.raises(Invalid) as twice:
        rights.revoke(right, NOW, "Tiers")
    assert (twice.value.status, twice.value.code) == (409, "2000000003")
    # after a revocation a new declaration is allowed
    assert declare(rights).state(TODAY) == "A valider"


def test_holder_revocation_refusal_and_expiry() -> None:
    rights = Rights()
    right = declare(rights)
    rights.accept(right, TODAY)
    rights.revoke(right, NOW, "Titulaire")
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_publiees", TODAY)
        == REVOKED_BY_HOLDER
    )
    other = Rights()
    refused = declare(other)
    other.refuse(refused, NOW)
    assert refused.state(TODAY) == "Refusée"
    with pytest.raises(Invalid):
        other.accept(refused, TODAY)
    expiring = declare(Rights())
    Rights.accept(expiring, TODAY)
    later = date(2027, 11, 2)
    assert expiring.state(later) == "Obsolète"
    store = Rights()
    store.by_id[expiring.id_droit_acces] = expiring
    assert (
        store.data_right("a", HOME.pce, "perim_donnees_informatives", later) == EXPIRED
    )


def test_duplicates_scope_and_ownership() -> None:
    rights = Rights()
    right = declare(rights, perim_donnees_informatives="Faux")
    with pytest.raises(Invalid) as pending:
        declare(rights)
    assert (pending.value.status, pending.value.code) == (409, "1000000003")
    rights.accept(right, TODAY)
    with pytest.raises(Invalid, match="existe déjà"):
        declare(rights)
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_informatives", TODAY)
        == NO_INFORMATIVE
    )
    assert rights.data_right("b", HOME.pce, "perim_donnees_publiees", TODAY) == NO_RIGHT
    assert rights.get("b", right.id_droit_acces) is None
    assert rights.listing("b", TODAY) == []
    assert (
        declare(rights, client="b").client_id == "b"
    )  # another third party may declare


def test_unknown_pce_and_postcode() -> None:
    rights = Rights()
    body = declaration(
        {
            "role_tiers": "AUTORISE_CONTRAT_FOURNITURE",
            "code_postal": "75001",
            "nom_titulaire": "X",
            "courriel_titulaire": "x@example.org",
            "date_debut_droit_acces": "2026-11-01",
            "date_fin_droit_acces": "2027-11-01",
            "perim_donnees_conso_debut": "2024-01-01",
            "perim_donnees_conso_fin": "2027-11-01",
            "perim_donnees_contractuelles": "Vrai",
            "perim_donnees_techniques": "Vrai",
            "perim_donnees_informatives": "Vrai",
            "perim_donnees_publiees": "Vrai",
        },
        TODAY,
    )
    with pytest.raises(Invalid) as unknown:
        rights.declare("a", None, "21389999999999", body, NOW)
    assert (unknown.value.status, unknown.value.code) == (404, "1000000006")
    with pytest.raises(Invalid) as elsewhere:
        rights.declare("a", HOME, HOME.pce, body, NOW)
    assert (elsewhere.value.status, elsewhere.value.code) == (409, "1000000005")


def test_holder_identity_check_is_case_and_accent_insensitive() -> None:
    rights = Rights()
    right = declare(rights, nom_titulaire=HOME.holder.nom.upper().replace("É", "E"))
    assert rights.holder_matches(right, HOME)
    impostor = declare(Rights(), courriel_titulaire="someone@example.org")
    assert not Rights.holder_matches(impostor, HOME)


def test_listing_filters_accept_lists_and_unaccented_states() -> None:
    rights = Rights()
    right = declare(rights)
    assert rights.listing("a", TODAY, {"etat_droit_acces": ["À valider"]}) == [right]
    assert rights.listing("a", TODAY, {"etat_droit_acces": ["Active"]}) == []
    assert rights.listing("a", TODAY, {"id_pce": [HOME.pce], "role_tiers": []}) == [
        right
    ]
    as_json = right.to_json(TODAY, "SEN1", lower_bools=True)
    assert as_json["perim_donnees_publiees"] == "vrai"
    assert as_json["date_creation"] == "2026-11-23 10:00:00"
    assert as_json["statut_controle_preuve"] is None
    assert (
        right.to_json(TODAY + timedelta(days=400), "SEN1", False)["etat_droit_acces"]
        == "Obsolète"
    )


def test_proofs_not_valid_by_the_deadline_revoke_the_right() -> None:
    """GRDF asked proofs: through the deadline the right stays Active; the day
    after, with proofs still awaited (or found KO), GRDF revokes it (source
    GRDF) and data calls answer 1000011; proofs found OK in time keep it."""
    rights = Rights()
    right = declare(rights)
    rights.accept(right, TODAY)
    right.statut_controle_preuve = PROOF_PENDING
    right.date_limite_transmission_preuve = TODAY + timedelta(days=30)
    deadline = right.date_limite_transmission_preuve
    assert right.state(deadline) == "Active"
    after = deadline + timedelta(days=1)
    assert right.state(after) == "Révoquée"
    listed = right.to_json(after, "SEN1", lower_bools=True)
    assert listed["source_revocation"] == "GRDF"
    assert listed["date_revocation"] == f"{after.isoformat()} 00:00:00"
    assert (
        rights.data_right("a", HOME.pce, "perim_donnees_informatives", after)
        == PROOF_INVALID
    )
    assert PROOF_INVALID.code == "1000011"
    right.statut_controle_preuve = PROOF_KO
    assert right.state(after) == "Révoquée"
    right.statut_controle_preuve = PROOF_OK
    assert right.state(after) == "Active"
