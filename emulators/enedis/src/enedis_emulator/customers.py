"""Who holds each emulated PRM: customers v5 identity and contact, and the sign-in
of the consent page.

Data Connect tells an application who holds a usage point it has a consent for:
``/customers_i/v5/identity`` (a natural person's title, first and last name, or a
legal entity) and ``/customers_cd/v5/contact_data`` (phone, e-mail), both queried
by ``usage_point_id`` alone (docs/upstreams/enedis.md §1.5; whether the body wraps
in ``customer{}`` is unverified upstream, the emulator answers the openapi shape
``{customer_id, identity|contact}`` and SEN1's client accepts both).

Holders are consistent with the demo territory: each demo resident
(``energy_store.demo``) holds the PRMs of their dwelling under their display name
and e-mail, so a resident consenting for their own PRM is verified and a
neighbour's PRM is not. Public and tertiary buildings' PRMs are held by legal
entities; sandbox and synthetic PRMs by generated people.

The real consent page signs the customer in to their Enedis account and lists the
PRMs of that account; ``POST /dataconnect/v1/oauth2/authorize`` with the form field
``login`` (the account's e-mail) emulates that sign-in and redirects back with the
PRMs the account holds. ``GET`` keeps the documented sandbox behaviour (the last
digit of ``state`` selects a fake client).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from enedis_emulator.profiles import Meter


@dataclass(frozen=True, slots=True)
class Holder:
    """The customer holding a PRM (natural person, or a legal entity)."""

    customer_id: str
    firstname: str = ""
    lastname: str = ""
    title: str = "M"
    email: str | None = None
    phone: str | None = None
    legal_name: str | None = None


def _customer_id(key: str) -> str:
    return str(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % 10**10)


def person(display_name: str, email: str) -> Holder:
    """A natural person from a display name ``"First Last"`` and an e-mail."""
    first, _, last = display_name.partition(" ")
    return Holder(_customer_id(email), first, last or first, email=email)


def generated(meter: Meter) -> Holder:
    """Sandbox and synthetic PRMs: a person nobody in SEN1 is (never matches)."""
    label = f"client{meter.client}" if meter.client is not None else meter.prm
    return Holder(
        _customer_id(label),
        "Client",
        f"Sandbox {meter.client}" if meter.client is not None else f"N{meter.prm}",
        email=f"{label}@sandbox.enedis.invalid",
        phone="0600000000",
    )


def demo_holders() -> dict[str, Holder]:
    """PRM -> holder for the demo territory (residents; legal entities otherwise)."""
    from energy_store import demo  # the demo territory is the emulator's customers

    territory = demo.build()
    holders: dict[str, Holder] = {}
    for resident in territory.residents:
        holder = person(resident.display_name, resident.email)
        for meter_id in resident.meters:
            holders[meter_id] = holder
    for placement in territory.meters:
        key = str(placement.meter)
        if key not in holders and placement.building_id is not None:
            holders[key] = Holder(
                _customer_id(placement.building_id),
                legal_name=f"Occupant professionnel {placement.building_id}",
                email=f"{placement.building_id.lower()}@entreprise.invalid",
            )
    return holders


def identity_body(holder: Holder) -> dict[str, Any]:
    """The ``customers_i/v5/identity`` answer."""
    if holder.legal_name is not None:
        who: dict[str, Any] = {
            "legal_entity": {
                "name": holder.legal_name,
                "trading_name": holder.legal_name,
                "business": None,
                "industry": None,
                "siret_number": None,
            }
        }
    else:
        who = {
            "natural_person": {
                "title": holder.title,
                "firstname": holder.firstname,
                "lastname": holder.lastname,
            }
        }
    return {"customer_id": holder.customer_id, "identity": who}


def contact_body(holder: Holder) -> dict[str, Any]:
    """The ``customers_cd/v5/contact_data`` answer."""
    return {
        "customer_id": holder.customer_id,
        "contact": {"phone": holder.phone, "email": holder.email},
    }


def prms_of(login: str, holders: dict[str, Holder], meters: Iterable[str]) -> list[str]:
    """The PRMs the account signed in as ``login`` holds (what the page lists)."""
    wanted = login.strip().casefold()
    return sorted(
        prm
        for prm in meters
        if (h := holders.get(prm)) is not None
        and h.email is not None
        and h.email.casefold() == wanted
    )


async def sign_in(
    request: Request, meters: Iterable[str], holders: dict[str, Holder]
) -> Response | None:
    """``POST`` on the consent page: the emulated account sign-in, then 302 back
    with the account's PRMs (``error=access_denied`` for an unknown account).
    None when the request is not a sign-in (the caller answers as ``GET``)."""
    if request.method != "POST":
        return None
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    query = request.query_params
    prms = prms_of(form.get("login", ""), holders, meters)
    back: dict[str, str] = {"state": query.get("state", "")}
    if prms:
        back |= {"code": secrets.token_urlsafe(12), "usage_point_id": ";".join(prms)}
    else:
        back |= {"error": "access_denied", "error_description": "unknown account"}
    return RedirectResponse(
        query["redirect_uri"] + "?" + urlencode(back), status_code=302
    )
