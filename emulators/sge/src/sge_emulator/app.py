"""The HTTP side: SOAP dispatch on (path, body root), test hooks, health.

The SOAP app is served only behind mutual TLS (see ``__main__``); the hooks
live on the same listener, so only holders of the emulator's client
certificate can move its clock. ``/healthz`` is also served on a plain
loopback port for the stack's supervisor, which holds no certificate.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sge_emulator import nightly
from sge_emulator.services import PATHS, ROUTES, validate_envelope
from sge_emulator.soap import (
    SgeFault,
    envelope,
    fault_envelope,
    malformed,
    parse_envelope,
)
from sge_emulator.state import EmulatorState, Subscription

logger = logging.getLogger("sge_emulator")
XML = "text/xml; charset=utf-8"


def handle_soap(state: EmulatorState, path: str, data: bytes) -> tuple[int, bytes]:
    """(HTTP status, envelope) for one call; never an empty 500 (suds would swallow it)."""
    state.calls += 1
    hdm = path == "/CommandeTransmissionHistoriqueMesures/v1.0"
    try:
        request = parse_envelope(data)
        service = ROUTES.get((path, request.qname))
        if service is None:
            raise malformed(f"élément racine {request.qname} inattendu sur {path}")
        validate_envelope(service, request.root, request.headers)
        body, headers = service.handler(state, request.root)
        return 200, envelope(body, headers)
    except SgeFault as fault:
        logger.info("fault %s on %s", fault.code, path)
        return 500, fault_envelope(fault, hdm=hdm)
    except Exception:
        logger.exception("internal error on %s", path)
        return 500, fault_envelope(SgeFault("SGT500"), hdm=hdm)


def build_app(state: EmulatorState, drop: Path) -> Starlette:
    lock = asyncio.Lock()

    async def soap(request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if path not in PATHS:
            return PlainTextResponse("Not Found", status_code=404)
        if request.method == "GET":
            # ?wsdl is optional upstream and would need Enedis's WSDLs: not served.
            return PlainTextResponse("WSDL non servi par l'émulateur", status_code=404)
        data = await request.body()
        async with lock:
            status, payload = await asyncio.to_thread(handle_soap, state, path, data)
        return Response(payload, status_code=status, media_type=XML)

    async def advance(request: Request) -> Response:
        nights = int(request.query_params.get("nights", "1"))
        if not 1 <= nights <= 400:
            return JSONResponse({"error": "nights must be 1..400"}, status_code=400)
        async with lock:
            written = await asyncio.to_thread(nightly.advance, state, drop, nights)
        return JSONResponse(
            {
                "today": state.today.isoformat(),
                "files": [str(p.relative_to(drop)) for p in written],
            }
        )

    async def rotate(request: Request) -> Response:
        async with lock:
            version = nightly.rotate_key(state)
        return JSONResponse({"key_version": version})

    async def set_date(request: Request) -> Response:
        payload = await request.json()
        state.today = date.fromisoformat(payload["today"])
        return JSONResponse({"today": state.today.isoformat()})

    async def subscriptions(request: Request) -> Response:
        if request.method == "POST":
            payload = await request.json()
            point = state.catalogue.get(str(payload["prm"]))
            if point is None:
                return JSONResponse({"error": "unknown prm"}, status_code=404)
            sub = Subscription(
                service_id=state.new_service_id(),
                affaire_id=state.new_affaire_id(),
                prm=point.prm,
                kind=str(payload.get("kind", "CDC")),
                model=str(payload.get("model", "acces")),
                start=state.today,
                end=state.today + timedelta(days=365),
            )
            state.subscriptions[sub.service_id] = sub
            return JSONResponse(
                {"serviceSouscritId": sub.service_id, "affaireId": sub.affaire_id},
                status_code=201,
            )
        return JSONResponse(
            [
                {
                    "serviceSouscritId": s.service_id,
                    "affaireId": s.affaire_id,
                    "prm": s.prm,
                    "kind": s.kind,
                    "model": s.model,
                    "state": s.state,
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat() if s.end else None,
                    "recurrent": s.recurrent,
                }
                for s in state.subscriptions.values()
            ]
        )

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "today": state.today.isoformat(),
                "key_version": state.key_version,
                "cipher": state.settings.cipher,
                "calls": state.calls,
                "orders": {
                    a: {"service": o.service, "delivered": o.delivered}
                    for a, o in state.orders.items()
                },
                "points": len(state.catalogue),
            }
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/healthz", healthz),
        Route("/_emulator/state", info),
        Route("/_emulator/advance", advance, methods=["POST"]),
        Route("/_emulator/rotate-key", rotate, methods=["POST"]),
        Route("/_emulator/date", set_date, methods=["POST"]),
        Route("/_emulator/subscriptions", subscriptions, methods=["GET", "POST"]),
        Route("/{service}/{version}", soap, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


def health_app() -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/healthz", healthz)])
