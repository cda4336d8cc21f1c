"""The client-credentials checks, through a real ASGI app (in process)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator_kit import oauth

FORM = {"grant_type": "client_credentials", "client_id": "me", "client_secret": "s3"}


def _body(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"e": error, "d": description}, status_code=status)


ERRORS = oauth.TokenErrors(
    body=_body,
    not_a_form_status=415,
    not_a_form_description="not a form",
    invalid_client_status=401,
)


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: SecretStr


def _app(configured: str = "s3") -> Starlette:
    async def token(request: Request) -> Response:
        client = Client("me", SecretStr(configured))
        grant = await oauth.client_credentials(request, client, ERRORS)
        if isinstance(grant, Response):
            return grant
        return JSONResponse({"client": grant.client_id, "form": dict(grant.form)})

    return Starlette(routes=[Route("/token", token, methods=["POST"])])


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_credentials_in_the_form_are_granted(http: httpx.AsyncClient) -> None:
    response = await http.post("/token", data={**FORM, "scope": "/v2"})
    assert response.status_code == 200
    assert response.json() == {"client": "me", "form": {**FORM, "scope": "/v2"}}


async def test_credentials_by_basic_auth_are_granted(http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"me:s3").decode()
    response = await http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["client"] == "me"


async def test_basic_auth_wins_over_the_form(http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"me:wrong").decode()
    response = await http.post(
        "/token", data=FORM, headers={"Authorization": f"Basic {basic}"}
    )
    assert (response.status_code, response.json()["e"]) == (401, "invalid_client")


async def test_a_body_that_is_not_a_form_gets_the_upstream_refusal(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/token", json=FORM)
    assert response.status_code == 415
    assert response.json() == {"e": "invalid_request", "d": "not a form"}


async def test_another_grant_type_is_unsupported(http: httpx.AsyncClient) -> None:
    response = await http.post("/token", data={**FORM, "grant_type": "password"})
    assert response.status_code == 400
    assert response.json() == {
        "e": "unsupported_grant_type",
        "d": oauth.UNSUPPORTED_GRANT,
    }


@pytest.mark.parametrize(
    "form",
    [
        {**FORM, "client_secret": "s4"},
        {**FORM, "client_id": "you"},
        {"grant_type": "client_credentials", "client_id": "me"},
        {"grant_type": "client_credentials", "client_secret": "s3"},
    ],
)
async def test_a_wrong_or_missing_client_is_refused(
    http: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await http.post("/token", data=form)
    assert response.status_code == 401
    assert response.json() == {"e": "invalid_client", "d": oauth.CLIENT_AUTH_FAILED}


async def test_no_secret_never_matches_an_empty_configured_one() -> None:
    transport = httpx.ASGITransport(app=_app(configured=""))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        missing = await http.post("/token", data={**FORM, "client_secret": ""})
        basic = base64.b64encode(b"me:").decode()
        empty = await http.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
    assert missing.status_code == 401  # an empty form field is no field at all
    assert empty.status_code == 200  # Basic "me:" does carry the empty secret
