"""Query and declaration rules, with ADICT's French messages."""

from __future__ import annotations

from datetime import date

import pytest

from grdf_emulator.validation import (
    Invalid,
    Window,
    consumption_window,
    declaration,
    parse_bool,
)

TODAY = date(2026, 11, 23)


def window(**query: str) -> Window:
    return consumption_window(query, TODAY, 3)


def test_dates_and_periode_are_exclusive_and_required() -> None:
    with pytest.raises(Invalid, match="mutuellement exclusifs"):
        window(periode="2026", date_debut="2026-01-01", date_fin="2026-02-01")
    with pytest.raises(Invalid, match="obligatoires"):
        window()
    with pytest.raises(Invalid, match="date_fin est obligatoire"):
        window(date_debut="2026-01-01")
    with pytest.raises(Invalid, match="date_debut est obligatoire"):
        window(date_fin="2026-01-01")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_debut": "2026-1-01", "date_fin": "2026-02-01"}, "format de la date"),
        ({"date_debut": "2026-02-30", "date_fin": "2026-03-01"}, "pas une date valide"),
        (
            {"date_debut": "2026-02-01", "date_fin": "2026-02-01"},
            "strictement antérieure",
        ),
        ({"date_debut": "2026-11-01", "date_fin": "2026-11-24"}, "date du jour"),
        ({"date_debut": "2023-11-22", "date_fin": "2023-12-01"}, "3 ans"),
        ({"periode": "2026-13-01"}, "format du paramètre periode"),
        ({"periode": "2026-W60"}, "pas une période valide"),
    ],
)
def test_rejections(query: dict[str, str], message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        window(**query)
    assert (caught.value.status, caught.value.code) == (400, "1000005")


def test_history_is_three_or_five_years() -> None:
    assert window(date_debut="2023-11-23", date_fin="2023-12-01").start == date(
        2023, 11, 23
    )
    five = consumption_window(
        {"date_debut": "2022-01-01", "date_fin": "2022-02-01"}, TODAY, 5
    )
    assert five.start == date(2022, 1, 1)


@pytest.mark.parametrize(
    ("periode", "start", "end"),
    [
        ("2025", date(2025, 1, 1), date(2026, 1, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        ("PN-2026-W01-3", date(2025, 12, 31), date(2026, 1, 1)),
        ("2026-032", date(2026, 2, 1), date(2026, 2, 2)),
        ("2026", date(2026, 1, 1), TODAY),  # not over yet: served up to today
    ],
)
def test_periode_ranges(periode: str, start: date, end: date) -> None:
    got = window(periode=periode)
    assert (got.start, got.end, got.periode) == (start, end, periode)


@pytest.mark.parametrize("text", ["Vrai", "vrai", "VRAI", "vRaI"])
def test_string_booleans_any_case(text: str) -> None:
    assert parse_bool(text, "x") is True
    assert (
        parse_bool(
            text.replace("rai", "aux")
            .replace("RAI", "AUX")
            .replace("RaI", "AuX")
            .replace("V", "F")
            .replace("v", "f"),
            "x",
        )
        is False
    )


@pytest.mark.parametrize("value", ["oui", True, 1, None, "true"])
def test_non_string_booleans_rejected(value: object) -> None:
    with pytest.raises(Invalid):
        parse_bool(value, "perim_donnees_publiees")


def body(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "role_tiers": "AUTORISE_CONTRAT_FOURNITURE",
        "code_postal": "38130",
        "nom_titulaire": "Résident 002",
        "courriel_titulaire": "resident002@demo.sen1.invalid",
        "numero_telephone_mobile_titulaire": "0612345678",
        "date_debut_droit_acces": "2026-11-01",
        "date_fin_droit_acces": "2027-11-01",
        "perim_donnees_conso_debut": "2024-01-01",
        "perim_donnees_conso_fin": "2027-11-01",
        "perim_donnees_contractuelles": "Faux",
        "perim_donnees_techniques": "faux",
        "perim_donnees_informatives": "Vrai",
        "perim_donnees_publiees": "vrai",
    }
    values.update(overrides)
    return values


def test_valid_declaration() -> None:
    decl = declaration(body(), TODAY)
    assert decl.perim_conso == (date(2024, 1, 1), date(2027, 11, 1))
    assert decl.perims["perim_donnees_publiees"] is True
    assert decl.perims["perim_donnees_techniques"] is False


@pytest.mark.parametrize(
    ("overrides", "status", "fragment"),
    [
        ({"role_tiers": None}, 400, "rôle du tiers est obligatoire"),
        ({"role_tiers": "TIERS"}, 400, "rôle du tiers est incorrect"),
        ({"nom_titulaire": None}, 400, "obligatoire"),
        ({"raison_sociale": "ACME"}, 400, "simultanément"),
        ({"courriel_titulaire": "nope"}, 400, "courriel"),
        ({"code_postal": "3813"}, 400, "code postal"),
        ({"numero_telephone_mobile_titulaire": "0412345678"}, 400, "téléphone"),
        ({"perim_donnees_informatives": "yes"}, 400, "Vrai ou Faux"),
        ({"date_fin_droit_acces": "01/11/2027"}, 400, "AAAA-MM-JJ"),
        (
            {"perim_donnees_conso_debut": None},
            400,
            "perim_donnees_conso_debut est obligatoire",
        ),
        ({"date_debut_droit_acces": "2026-11-24"}, 409, "date du jour"),
        ({"date_fin_droit_acces": "2026-11-22"}, 409, "date du jour"),
        ({"perim_donnees_conso_fin": "2028-01-01"}, 409, "incohérent"),
    ],
)
def test_declaration_rejections(
    overrides: dict[str, object], status: int, fragment: str
) -> None:
    with pytest.raises(Invalid, match=fragment) as caught:
        declaration(body(**overrides), TODAY)
    assert caught.value.status == status
