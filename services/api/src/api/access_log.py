"""The access log: every granted read of individual data, recorded in one place.

Residents have a right to know who read their data. The log is written by the
shared gate of individual data (:func:`api.routes.meters.accessible_meter`, which
every meter route goes through) rather than by each route, so a new route that
uses the gate is logged without a line of its own, and a route that skips the gate
is caught by the egress walker test instead.

The gate only knows the connection, the caller and the meter; the route template
and the method come from the ASGI scope of the request being served, kept in a
context variable by :class:`RequestScope` (a pure ASGI middleware: it runs in the
request's own task, so the variable is visible to the endpoint). The template
(``/v1/meters/{meter_id}/daily``) is stored, never the path: a path holds the PRM.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

import asyncpg
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import Principal

_SCOPE: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "sen1_request_scope", default=None
)


class RequestScope:
    """Keeps the ASGI scope of the HTTP request being served in a context variable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _SCOPE.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _SCOPE.reset(token)


def current_route() -> tuple[str, str]:
    """(method, route template) of the request being served.

    The router writes the matched route into the scope before the endpoint runs.
    Outside a request (a script, a test calling the gate directly) the route is
    ``"(no route)"``: still logged, never silently skipped.
    """
    scope = _SCOPE.get()
    if scope is None:
        return "-", "(no route)"
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(scope.get("method", "-")), str(path or "(unmatched)")


# The consent under which the read happens, from the same rule as the gate
# (``meter_access``, through which queries.METER_FOR reads): the caller's own live
# verified consent on the meter or on the delivery point the device measures
# first, else that of an owner who shares the meter with the caller. The row names
# the consent's holder as the subject, so a grantee's read shows in the owner's log.
_RECORD = """
INSERT INTO api_access_log (actor_kind, actor_account_id, actor_key_id,
                            subject_person_id, meter_id, consent_id, method, route)
SELECT $1, $2, $3, x.person_id, $5, x.consent_id, $6, $7
FROM (
    SELECT $4::uuid AS person_id, a.consent_id, 0 AS rank
    FROM meter_access($4, now()) a WHERE a.meter_id = $5
    UNION ALL
    SELECT s.owner_person_id, a.consent_id, 1 FROM api_meter_shares s
    CROSS JOIN LATERAL meter_access(s.owner_person_id, now()) a
    WHERE s.grantee_person_id = $4 AND s.meter_id = $5 AND a.meter_id = s.meter_id
      AND s.starts_at <= now() AND s.expires_at > now() AND s.revoked_at IS NULL
) x
ORDER BY x.rank
LIMIT 1
RETURNING access_id
"""


class UnrecordedAccessError(RuntimeError):
    """A read passed the gate but no consent could be named for it: refused."""


async def record(conn: asyncpg.Connection, user: Principal, meter_id: str) -> int:
    """Logs one read of ``meter_id`` by ``user``; returns the log row's id.

    Fails closed: a read that cannot be attributed to a consent is not served (the
    caller turns the exception into a 500 without the meter id).
    """
    method, route = current_route()
    access_id: int | None = await conn.fetchval(
        _RECORD,
        user.kind if user.kind in ("resident", "operator", "city", "peer") else "peer",
        user.account_id,
        user.key_id,
        user.person_id,
        meter_id,
        method,
        route,
    )
    if access_id is None:
        raise UnrecordedAccessError("a read of individual data without a consent")
    return access_id


_ENTRIES = """
SELECT l.at, l.method, l.route, l.meter_id, l.consent_id, l.actor_kind,
       CASE WHEN a.person_id = $1 THEN 'you'
            WHEN l.actor_account_id IS NULL AND l.actor_key_id IS NULL THEN 'unknown'
            ELSE l.actor_kind END AS actor,
       CASE WHEN a.person_id IS NOT NULL AND a.person_id <> $1 THEN p.display_name
            WHEN k.key_id IS NOT NULL THEN k.label END AS actor_name
FROM api_access_log l
LEFT JOIN api_accounts a ON a.account_id = l.actor_account_id
LEFT JOIN people p ON p.person_id = a.person_id
LEFT JOIN api_keys k ON k.key_id = l.actor_key_id
WHERE l.subject_person_id = $1
ORDER BY l.at DESC, l.access_id DESC
LIMIT $2 OFFSET $3
"""


async def entries_about(
    conn: asyncpg.Connection, person_id: uuid.UUID, *, limit: int, offset: int
) -> list[Any]:
    """The reads of ``person_id``'s data, newest first.

    A grantee is named by their display name (the owner chose to share with
    them); a key by its label; an erased account or a deleted key as ``unknown``.
    """
    rows: list[Any] = await conn.fetch(_ENTRIES, person_id, limit, offset)
    return rows
