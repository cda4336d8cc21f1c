"""RFC 9457 ``application/problem+json`` for every 4xx/5xx (validation too)."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(HTTPException):
    """An HTTP error with a machine-readable type slug and a human detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers=headers)
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")


def problem(
    status: int, detail: Any, *, kind: str = "", instance: str = "", **extra: Any
) -> JSONResponse:
    """The response itself; ``type`` is a relative URI under /problems/."""
    kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
    body = {
        "type": f"/problems/{kind}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every error into problem+json."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = exc.kind if isinstance(exc, Problem) else ""
        response = problem(
            exc.status_code, exc.detail, kind=kind, instance=request.url.path
        )
        if exc.headers:  # e.g. Allow on a 405 (RFC 9110 §15.5.6)
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return problem(
            422,
            "the request is not valid; see errors",
            kind="validation",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(asyncpg.DataError)
    async def _bad_data(request: Request, exc: asyncpg.DataError) -> JSONResponse:
        # e.g. a NUL byte in a string: PostgreSQL refuses it; so do we, with a 422.
        return problem(
            422,
            "the request holds a value the database cannot store",
            kind="validation",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # The route template, never the path: /v1/meters/{meter_id}/… would put a
        # PRM (personal data) in the logs.
        logger.exception("unhandled error on %s %s", request.method, _template(request))
        return problem(500, "internal error", instance=request.url.path)


def _template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched route)"
