"""The checks of an OAuth2 client-credentials token request (RFC 6749 §4.4).

Why: Enedis Data Connect and GRDF ADICT both hand out bearer tokens for a
``grant_type=client_credentials`` form, with the client authenticated either by
``client_id``/``client_secret`` in the form or by HTTP Basic (RFC 6749 §2.3.1);
their clients use either. The request is checked the same way for both, but
each upstream answers a refusal with its own status codes and JSON body, so
those are parameters (:class:`TokenErrors`) and stay in the emulator. Issuing
the token (lifetime, scope, the answer's fields) is the emulator's too.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

FORM = "application/x-www-form-urlencoded"
UNSUPPORTED_GRANT = "The authorization grant type is not supported."
CLIENT_AUTH_FAILED = "Client authentication failed."


class Secret(Protocol):
    """A secret kept out of reprs and logs (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


class Client(Protocol):
    """The one client an emulator knows: its settings' id and secret."""

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> Secret: ...


@dataclass(frozen=True, slots=True)
class TokenErrors:
    """How one upstream's token endpoint says no."""

    body: Callable[[int, str, str], Response]
    """``(status, error, error_description) -> response``: the upstream's body."""
    not_a_form_status: int
    """Status when the body is not form-encoded (Enedis 415, GRDF 400)."""
    not_a_form_description: str
    invalid_client_status: int
    """Status for a wrong client id or secret (Enedis 400, GRDF 401)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """An authenticated client-credentials request: who asked, with what form."""

    client_id: str
    form: Mapping[str, str]
    """The form's fields, first value of each (``scope`` is read from here)."""


async def client_credentials(
    request: Request, client: Client, errors: TokenErrors
) -> Grant | Response:
    """The grant if the request is a client-credentials one from this client.

    Otherwise the upstream's refusal, in this order: not a form, another grant
    type, wrong client. The secret is compared in constant time; a missing one
    never matches, not even an empty configured secret. The form is
    parsed by hand: it has three or four fields, no need for python-multipart.
    """
    if not request.headers.get("content-type", "").startswith(FORM):
        return errors.body(
            errors.not_a_form_status, "invalid_request", errors.not_a_form_description
        )
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    given_id, secret = form.get("client_id"), form.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        given_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    if form.get("grant_type") != "client_credentials":
        return errors.body(400, "unsupported_grant_type", UNSUPPORTED_GRANT)
    if (
        given_id != client.client_id
        or secret is None
        or not secrets.compare_digest(
            secret.encode(), client.client_secret.get_secret_value().encode()
        )
    ):
        return errors.body(
            errors.invalid_client_status, "invalid_client", CLIENT_AUTH_FAILED
        )
    return Grant(given_id, form)
