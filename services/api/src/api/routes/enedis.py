"""The Enedis consent entry point: redirect to Data Connect's consent page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from api.deps import Resident, SettingsDep
from api.problems import Problem

router = APIRouter(prefix="/v1/enedis", tags=["consent"])


@router.get("/consent", response_class=RedirectResponse, status_code=307)
async def consent(
    request: Request,
    user: Resident,
    settings: SettingsDep,
    duration: Annotated[str | None, Query(max_length=16)] = None,
) -> RedirectResponse:
    """307 to the authorize URL; ``duration`` is ISO 8601, at most P3Y."""
    state = secrets.token_urlsafe(24)
    try:
        url = request.app.state.consent.authorize_url(
            state=state, duration=duration or settings.enedis_duration
        )
    except ValueError as exc:
        raise Problem(422, str(exc), kind="validation") from exc
    response = RedirectResponse(url, status_code=307)
    response.set_cookie(
        "sen1_consent_state",
        state,
        max_age=900,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return response
