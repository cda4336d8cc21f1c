"""The HTTPS binding's application: JWKS, peers' signed routes, operator routes.

Peers' routes verify every request first (:class:`Verifier`: pinned key of a live
peer, RFC 9421 signature over method, target URI and body digest, freshness, nonce
never seen), then every item of the answer passes
:func:`federation_gateway.egress.decide`. Refusals are application/problem+json
and never say more than why (no counts, no meter ids).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from energy_core.observability import Health, ops_routes
from energy_core.privacy import SecrecyRule
from federation_gateway.client import PeerUnavailableError
from federation_gateway.egress import IndividualSeries, PeerGrant, decide
from federation_gateway.keys import Keyring
from federation_gateway.mapping import (
    AggregateUrn,
    UrnError,
    from_senml,
    parse_alert_urn,
    parse_urn,
    to_senml,
)
from federation_gateway.outbound import aggregate_records
from federation_gateway.repository import Peer, PgRepository, ReceivedAlert
from federation_gateway.settings import Settings
from federation_gateway.signatures import (
    SignatureError,
    Verified,
    parse_params,
    sign_response,
    verify,
)

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "federation_gateway_requests_total",
    "Peers' requests by route and outcome",
    ["route", "outcome"],
)
WITHHELD = Counter(
    "federation_gateway_withheld_total", "Items egress.decide kept in", ["kind"]
)
KeyFetcher = Callable[[Peer], Awaitable[dict[str, Ed25519PublicKey]]]
QUERY_ROUTE = "/federation/v1/query"
PUSH_ROUTE = "/federation/v1/push"
SUBSCRIBE_ROUTE = "/federation/v1/subscriptions"


def problem(status: int, title: str, detail: str = "") -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Verifier:
    """Verifies a peer's signed request: who, and that it was neither changed,
    nor stale, nor seen before."""

    def __init__(
        self,
        settings: Settings,
        repository: PgRepository,
        fetch_keys: KeyFetcher,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.fetch_keys = fetch_keys
        self.clock = clock
        self._keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        self._window: dict[str, tuple[int, int]] = {}
        """Per peer: (current minute, requests in it) for the registry's rate limit."""

    def _within_rate(self, peer: Peer, now: datetime) -> bool:
        minute = int(now.timestamp()) // 60
        start, count = self._window.get(peer.domain, (minute, 0))
        count = count + 1 if start == minute else 1
        self._window[peer.domain] = (minute, count)
        return count <= peer.rate_limit_per_minute

    async def _key(self, peer: Peer, kid: str) -> Ed25519PublicKey | None:
        if kid not in peer.fingerprints:
            return None
        if (peer.domain, kid) not in self._keys:
            for k, key in (await self.fetch_keys(peer)).items():
                self._keys[(peer.domain, k)] = key
        return self._keys.get((peer.domain, kid))

    async def __call__(self, request: Request, body: bytes) -> tuple[Peer, Verified]:
        try:
            params = parse_params(request.headers.get("signature-input", ""))
        except SignatureError as exc:
            raise Refused(401, exc.reason) from exc
        peer = await self.repository.peer(params.domain)
        now = self.clock()
        if peer is None:
            raise Refused(401, "unknown key")
        if peer.revoked_at is not None and peer.revoked_at <= now:
            raise Refused(403, "peer revoked")
        if not self._within_rate(peer, now):
            raise Refused(429, "rate limit of this peer reached")
        try:
            key = await self._key(peer, params.kid)
        except PeerUnavailableError as exc:
            raise Refused(401, "the peer's keys cannot be fetched") from exc
        if key is None:
            raise Refused(401, "unknown key")
        target = self.settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            target += "?" + request.url.query
        try:
            verified = verify(
                request.headers,
                method=request.method,
                target_uri=target,
                body=body,
                public_key=key,
                params=params,
                now=now,
                max_age=timedelta(seconds=self.settings.signature_max_age_seconds),
                skew=timedelta(seconds=self.settings.clock_skew_seconds),
            )
        except SignatureError as exc:
            raise Refused(401, exc.reason) from exc
        expires = datetime.fromtimestamp(params.expires, UTC) + timedelta(
            seconds=self.settings.clock_skew_seconds
        )
        if not await self.repository.remember_nonce(
            params.keyid, params.nonce, expires
        ):
            raise Refused(401, "replayed request")
        return peer, verified


def _aware(text: Any, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise Refused(400, f"{field} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise Refused(400, f"{field} needs a UTC offset")
    return value


def create_app(
    *,
    settings: Settings,
    keyring: Keyring,
    repository: PgRepository,
    rule: SecrecyRule,
    health: Health,
    fetch_keys: KeyFetcher,
    rotate_key: Callable[[], Awaitable[str]],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The gateway's routes (ops routes included)."""
    verifier = Verifier(settings, repository, fetch_keys, clock)

    async def jwks(_: Request) -> Response:
        return JSONResponse(
            keyring.jwks(clock()),
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "max-age=300"},
        )

    async def signed(
        request: Request, route: str
    ) -> tuple[Peer, Verified, dict[str, Any]]:
        body = await request.body()
        if len(body) > 1_000_000:
            raise Refused(413, "body too large")
        peer, verified = await verifier(request, body)
        try:
            payload = json.loads(body or b"{}")
        except ValueError as exc:
            raise Refused(400, "body is not JSON") from exc
        if not isinstance(payload, dict):
            raise Refused(400, "body is not a JSON object")
        return peer, verified, payload

    async def query(request: Request) -> Response:
        try:
            peer, _, payload = await signed(request, QUERY_ROUTE)
            urn = parse_urn(str(payload.get("urn", "")))
            start = _aware(payload.get("start"), "start")
            end = _aware(payload.get("end"), "end")
            if end <= start or end - start > timedelta(days=400):
                raise Refused(400, "the period must be positive and at most 400 days")
            now = clock()
            if isinstance(urn, AggregateUrn):
                records = await _aggregates(peer, urn, start, end, now)
            else:
                consent = await repository.consent_for(urn.meter_id, peer.domain)
                item = IndividualSeries(urn.meter_id, start, end, consent)
                decision = decide(peer.grant, item, rule=rule, now=now)
                if not decision.allowed or consent is None:
                    WITHHELD.labels("series").inc()
                    raise Refused(403, decision.reason or "no consent for this peer")
                unit, values = await repository.series(urn.urn, start, end)
                await repository.log_access(consent, QUERY_ROUTE)
                records = to_senml(urn.urn, unit, values)
        except UrnError as exc:
            REQUESTS.labels("query", "bad-request").inc()
            return problem(400, "Bad request", str(exc))
        except Refused as exc:
            REQUESTS.labels("query", str(exc.status)).inc()
            return problem(exc.status, "Refused", exc.detail)
        REQUESTS.labels("query", "ok").inc()
        return signed_answer(request, records)

    def signed_answer(request: Request, payload: Any) -> Response:
        """The answer signed with our current key, bound to the request's own
        signature (RFC 9421 response signature; the puller verifies it)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        key = keyring.current()
        headers = sign_response(
            key.private,
            keyid=f"{settings.domain} {key.kid}",
            status=200,
            body=body,
            request_signature=request.headers.get("signature", ""),
            now=clock(),
        )
        return Response(body, media_type="application/senml+json", headers=headers)

    async def _aggregates(
        peer: Peer, urn: AggregateUrn, start: datetime, end: datetime, now: datetime
    ) -> list[dict[str, Any]]:
        rows = await repository.aggregates(urn, start, end)
        records, withheld = aggregate_records(peer.grant, urn, rows, rule=rule, now=now)
        WITHHELD.labels("aggregate").inc(withheld)
        return records

    async def push(request: Request) -> Response:
        try:
            peer, verified, payload = await signed(request, PUSH_ROUTE)
            key = str(payload.get("idempotency_key", ""))
            if not 8 <= len(key) <= 200:
                raise Refused(400, "idempotency_key is required")
            try:
                rows = from_senml(list(payload.get("records", [])))
            except (ValueError, TypeError) as exc:
                raise Refused(400, "records are not SenML") from exc
            try:
                alerts = alerts_from_json(payload.get("alerts", []))
            except (ValueError, TypeError, KeyError) as exc:
                raise Refused(400, "alerts are not valid") from exc
            stored = await repository.store_received(
                peer.domain,
                verified.params.keyid,
                verified.signature,
                key,
                rows,
                alerts,
            )
        except Refused as exc:
            REQUESTS.labels("push", str(exc.status)).inc()
            return problem(exc.status, "Refused", exc.detail)
        REQUESTS.labels("push", "ok" if stored else "duplicate").inc()
        return JSONResponse({"stored": stored, "records": len(rows)})

    async def subscribe(request: Request) -> Response:
        """A peer subscribes to URNs; pushes go to its own base URL only (a callback
        elsewhere would make us post to any host it names). Individual series are
        decided at every push (the consent may be revoked in between)."""
        try:
            peer, _, payload = await signed(request, SUBSCRIBE_ROUTE)
            urns = payload.get("urns")
            if not isinstance(urns, list) or not 1 <= len(urns) <= 100:
                raise Refused(400, "urns: a list of 1 to 100 URNs")
            for urn in urns:
                if parse_alert_urn(str(urn)) is not None:
                    continue  # decided per alert at push time (egress.decide)
                if not isinstance(parse_urn(str(urn)), AggregateUrn) and not (
                    peer.grant.series
                ):
                    raise Refused(
                        403, "individual series are not shared with this peer"
                    )
            callback = str(payload.get("callback_url", ""))
            if not callback.startswith(peer.base_url.rstrip("/") + "/"):
                raise Refused(400, "callback_url must be under the peer's base URL")
            since = payload.get("since")
            cursor = _aware(since, "since") if since is not None else clock()
            sub = await repository.add_subscription(
                peer.domain, callback, [str(u) for u in urns], cursor
            )
        except UrnError as exc:
            REQUESTS.labels("subscribe", "bad-request").inc()
            return problem(400, "Bad request", str(exc))
        except Refused as exc:
            REQUESTS.labels("subscribe", str(exc.status)).inc()
            return problem(exc.status, "Refused", exc.detail)
        REQUESTS.labels("subscribe", "ok").inc()
        return JSONResponse({"subscription_id": sub}, status_code=201)

    def operator(request: Request) -> bool:
        token = settings.operator_token.get_secret_value()
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        return bool(token) and hmac.compare_digest(token.encode(), given.encode())

    async def rotate(request: Request) -> Response:
        if not operator(request):
            return problem(401, "Operator token required")
        return JSONResponse({"kid": await rotate_key()})

    async def list_peers(request: Request) -> Response:
        if not operator(request):
            return problem(401, "Operator token required")
        return JSONResponse([peer_json(p) for p in await repository.peers()])

    async def put_peer(request: Request) -> Response:
        if not operator(request):
            return problem(401, "Operator token required")
        try:
            body = json.loads(await request.body())
            peer = peer_from_json(request.path_params["domain"], body)
        except (ValueError, TypeError, KeyError) as exc:
            return problem(400, "Bad request", f"peer: {exc}")
        await repository.upsert_peer(peer)
        return JSONResponse(peer_json(peer))

    async def revoke_peer(request: Request) -> Response:
        if not operator(request):
            return problem(401, "Operator token required")
        if not await repository.revoke_peer(request.path_params["domain"], clock()):
            return problem(404, "No such live peer")
        return Response(status_code=204)

    routes = [
        Route("/.well-known/jwks.json", jwks),
        Route(QUERY_ROUTE, query, methods=["POST"]),
        Route(PUSH_ROUTE, push, methods=["POST"]),
        Route(SUBSCRIBE_ROUTE, subscribe, methods=["POST"]),
        Route("/operator/keys/rotate", rotate, methods=["POST"]),
        Route("/operator/peers", list_peers, methods=["GET"]),
        Route("/operator/peers/{domain}", put_peer, methods=["PUT"]),
        Route("/operator/peers/{domain}/revoke", revoke_peer, methods=["POST"]),
        *ops_routes(health),
    ]
    return Starlette(routes=routes)


LEVELS = frozenset({"neighbourhood", "parcel", "commune", "building"})
BUCKET_CODES = frozenset({"PT30M", "PT1H", "P1D", "P1M"})


def peer_from_json(domain: str, body: dict[str, Any]) -> Peer:
    """A registry entry from the operator's JSON; raises ValueError when invalid."""
    fingerprints = tuple(str(f) for f in body["fingerprints"])
    if not fingerprints or not all(
        re.fullmatch(r"[A-Za-z0-9_-]{43}", f) for f in fingerprints
    ):
        raise ValueError("fingerprints: RFC 7638 thumbprints (43 base64url characters)")
    levels = frozenset(str(x) for x in body.get("levels", []))
    buckets = frozenset(str(x) for x in body.get("buckets", []))
    if not levels <= LEVELS or not buckets <= BUCKET_CODES:
        raise ValueError("levels or buckets unknown")
    base_url = str(body["base_url"])
    if not base_url.startswith(("https://", "http://")):
        raise ValueError("base_url must be an http(s) URL")
    return Peer(
        domain=domain,
        base_url=base_url,
        fingerprints=fingerprints,
        grant=PeerGrant(
            domain=domain,
            territories=frozenset(str(x) for x in body.get("territories", [])),
            levels=levels,
            buckets=buckets,
            series=bool(body.get("series", False)),
        ),
        reshare=bool(body.get("reshare", False)),
        rate_limit_per_minute=int(body.get("rate_limit_per_minute", 120)),
        jid=_bare_jid(body.get("jid")),
        shown_to=frozenset(_communes(body.get("shown_to", []))),
    )


def alerts_from_json(items: Any) -> list[ReceivedAlert]:
    """A push's ``alerts``: each ``{urn, alert_id, occurred_at, change, level,
    previous_level, capacity_kw}``; raises ValueError/KeyError/TypeError."""
    if not isinstance(items, list) or len(items) > 10_000:
        raise ValueError("alerts: a list")
    out = []
    for a in items:
        alert = parse_alert_urn(str(a["urn"]))
        if alert is None:
            raise ValueError("alert urn")
        occurred = datetime.fromisoformat(str(a["occurred_at"]))
        if occurred.tzinfo is None:
            raise ValueError("occurred_at needs an offset")
        if a["change"] not in ("raised", "escalated", "deescalated", "cleared"):
            raise ValueError("change")
        level, previous = int(a["level"]), int(a["previous_level"])
        if not (0 <= level <= 3 and 0 <= previous <= 3):
            raise ValueError("level")
        capacity = a.get("capacity_kw")
        out.append(
            ReceivedAlert(
                alert.iris,
                str(uuid.UUID(str(a["alert_id"]))),
                occurred,
                str(a["change"]),
                level,
                previous,
                float(capacity) if capacity is not None else None,
            )
        )
    return out


def _bare_jid(value: Any) -> str | None:
    if value is None or value == "":
        return None
    jid = str(value)
    if not re.fullmatch(r"[^@/\s]+@[^@/\s]+", jid):
        raise ValueError("jid: a bare JID (user@domain, no resource)")
    return jid


def _communes(values: Any) -> list[str]:
    codes = [str(x) for x in values]
    if not all(re.fullmatch(r"(\d{2}|2A|2B)\d{3}", c) for c in codes):
        raise ValueError("shown_to: INSEE commune codes")
    return codes


def peer_json(peer: Peer) -> dict[str, Any]:
    return {
        "domain": peer.domain,
        "base_url": peer.base_url,
        "fingerprints": list(peer.fingerprints),
        "territories": sorted(peer.grant.territories),
        "levels": sorted(peer.grant.levels),
        "buckets": sorted(peer.grant.buckets),
        "series": peer.grant.series,
        "reshare": peer.reshare,
        "rate_limit_per_minute": peer.rate_limit_per_minute,
        "jid": peer.jid,
        "shown_to": sorted(peer.shown_to),
        "revoked_at": peer.revoked_at.isoformat() if peer.revoked_at else None,
    }


def http_key_fetcher(http: httpx.AsyncClient) -> KeyFetcher:
    """Fetches a peer's JWKS and keeps the pinned keys only."""
    from federation_gateway.client import fetch_keys

    async def fetch(peer: Peer) -> dict[str, Ed25519PublicKey]:
        return await fetch_keys(http, peer.base_url, peer.fingerprints)

    return fetch


class DeferredApp:
    """An ASGI app served before bootstrap() has built the real one.

    Ops routes answer (``/healthz`` alive, ``/readyz`` 503 until checks exist);
    anything else is 503 until :meth:`mount`.
    """

    def __init__(self, health: Health) -> None:
        self._ops = Starlette(routes=ops_routes(health))
        self._app: ASGIApp | None = None

    def mount(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is not None:
            await self._app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] not in {
            "/healthz",
            "/readyz",
            "/metrics",
        }:
            await Response("starting", status_code=503)(scope, receive, send)
        else:
            await self._ops(scope, receive, send)
