"""The holder comparison of the consent verifier (pure)."""

from __future__ import annotations

from ingest_enedis.verifier import match_holder


def identity(first: str, last: str, wrapped: bool = False) -> dict:
    body = {
        "customer_id": "1",
        "identity": {
            "natural_person": {"title": "Mme", "firstname": first, "lastname": last}
        },
    }
    return {"customer": body} if wrapped else body


def contact(email: str | None) -> dict:
    return {"customer_id": "1", "contact": {"phone": None, "email": email}}


def test_name_and_email_both_match_whatever_the_case_accents_and_order() -> None:
    got = match_holder(
        identity("Élodie", "Martin-Dupont"),
        contact("Elodie.Martin@Example.org "),
        display_name="martin dupont elodie",
        email="elodie.martin@example.org",
    )
    assert got.verification == "verified"


def test_the_customer_wrapper_is_accepted() -> None:
    got = match_holder(
        identity("Ana", "Lima", wrapped=True),
        {"customer": contact("a@x.org")},
        display_name="Ana Lima",
        email="a@x.org",
    )
    assert got.verification == "verified"


def test_one_of_two_is_held_for_an_operator() -> None:
    name_only = match_holder(
        identity("Ana", "Lima"), contact("other@x.org"),
        display_name="Ana Lima", email="a@x.org",
    )  # fmt: skip
    email_only = match_holder(
        identity("Bob", "Roy"), contact("a@x.org"),
        display_name="Ana Lima", email="a@x.org",
    )  # fmt: skip
    assert (name_only.verification, name_only.reason) == ("to_verify", "partial_match")
    assert (email_only.verification, email_only.reason) == (
        "to_verify",
        "partial_match",
    )


def test_a_stranger_a_legal_entity_or_nothing_never_verifies() -> None:
    stranger = match_holder(
        identity("Bob", "Roy"), contact("bob@x.org"),
        display_name="Ana Lima", email="a@x.org",
    )  # fmt: skip
    legal = match_holder(
        {"customer_id": "1", "identity": {"legal_entity": {"name": "Ana Lima"}}},
        contact(None),
        display_name="Ana Lima",
        email=None,
    )
    empty = match_holder({}, {}, display_name="", email=None)
    for got in (stranger, legal, empty):
        assert (got.verification, got.reason) == ("to_verify", "identity_mismatch")
