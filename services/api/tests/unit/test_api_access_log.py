"""The access log's request context: the route template reaches the gate."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api import access_log


async def test_the_gate_sees_the_route_template_not_the_path() -> None:
    app = FastAPI()
    app.add_middleware(access_log.RequestScope)
    seen: list[tuple[str, str]] = []

    @app.get("/v1/things/{thing_id}/daily")
    async def daily(thing_id: str) -> dict[str, str]:
        seen.append(access_log.current_route())  # what access_log.record stores
        return {"ok": thing_id}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        r = await client.get("/v1/things/30001610071843/daily")
    assert r.status_code == 200
    assert seen == [("GET", "/v1/things/{thing_id}/daily")]
    # the variable does not outlive the request
    assert access_log.current_route() == ("-", "(no route)")


def test_outside_a_request_the_route_says_so() -> None:
    assert access_log.current_route() == ("-", "(no route)")
