"""The Data Connect v5 gateway, emulated over real HTTP (Starlette).

Token v3, the five metering paths, customers contracts/addresses/identity/contact
(holders consistent with the demo residents, :mod:`.customers`), the consent
page (302 back with ``code``, ``state``, ``usage_point_id``), quotas Q3/Q4 with
the documented 429 bodies, and the documented error codes. Test hooks live
under ``/_emulator/`` (revoke a consent, inject a burst of 429/503).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from emulator_kit import oauth
from enedis_emulator import customers as holders
from enedis_emulator import profiles
from enedis_emulator.profiles import Meter
from enedis_emulator.settings import EmulatorSettings
from energy_core.domain import PARIS
from energy_core.domain.time import shift_months

_PRM = re.compile(r"\d{14}")
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")
TOKEN_LIFETIME_S = 12600


@dataclass(frozen=True, slots=True)
class Quota:
    """The gateway's own count: at most ``limit`` calls in any ``period`` seconds.

    Not ingest-enedis's limiter: the emulator enforces the quotas independently,
    so a client that overruns them is refused here as it would be upstream.
    """

    limit: int
    period: float


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description, "error_uri": ""},
        status_code=status,
    )


_TOKEN_ERRORS = oauth.TokenErrors(
    body=_error,
    not_a_form_status=415,
    not_a_form_description="Unsupported Media Type",
    invalid_client_status=400,
)
"""Data Connect's token refusals: 415 for a body that is not a form, 400 for a
wrong client (not 401), each with ``error_uri``."""


def _months_ago(today: date, months: int, extra_days: int = 15) -> date:
    return shift_months(today, -months) - timedelta(days=extra_days)


class EmulatorState:
    """Meters, consents, tokens, quotas and injected faults of one emulator."""

    def __init__(
        self,
        settings: EmulatorSettings,
        meters: list[Meter],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.meters = {m.prm: m for m in meters}
        self.clock = clock
        self.revoked = {m.prm for m in meters if m.revoked}
        self.holders: dict[str, holders.Holder] = {}
        """Who holds each PRM (customers v5 identity/contact); generated if absent."""
        self.tokens: dict[str, float] = {}
        self.faults: list[tuple[int, str | None]] = []
        self.calls = 0
        self.throttled = 0
        scale = settings.quota_time_scale
        self.quotas = (
            Quota(max(1, round(settings.requests_per_second)), 1.0 / scale),
            Quota(max(1, round(settings.requests_per_hour)), 3600.0 / scale),
        )
        self._windows: list[deque[float]] = [deque() for _ in self.quotas]

    def today(self) -> date:
        return self.clock().astimezone(PARIS).date()

    def published_end(self, meter: Meter) -> date:
        """Exclusive end of published daily data: J-1 after 08:00, late meters J+2."""
        now = self.clock().astimezone(PARIS)
        end = now.date() if now.hour >= 8 else now.date() - timedelta(days=1)
        return end - timedelta(days=1) if meter.late else end

    def over_quota(self) -> tuple[str, float] | None:
        """Counts this call; ('Q3'|'Q4', seconds to wait) when over (not counted)."""
        if not self.settings.enforce_quotas:
            return None
        now = time.monotonic()
        for name, quota, window in zip(
            ("Q3", "Q4"), self.quotas, self._windows, strict=True
        ):
            while window and window[0] <= now - quota.period:
                window.popleft()
            if len(window) >= quota.limit:
                self.throttled += 1
                return name, window[0] + quota.period - now
        for window in self._windows:
            window.append(now)
        return None

    def throttled_response(self, quota: str, wait_s: float) -> JSONResponse:
        """A 429 in the configured documented shape (enedis.md §1.6).

        ``wait_s`` is in (possibly time-scaled) emulator seconds; the body states it
        in gateway seconds, as the real gateway would, so a client that divides by
        the same ``quota_time_scale`` gets the real pause.
        """
        gateway_s = max(1, math.ceil(wait_s * self.settings.quota_time_scale))
        if self.settings.quota_body == "wso2":
            if quota == "Q3":
                body: dict[str, Any] = {
                    "fault": {
                        "code": 900807,
                        "message": "Message throttled out",
                        "description": "You have exceeded your quota",
                    }
                }
            else:
                moment = datetime.now(UTC) + timedelta(seconds=gateway_s)
                if moment.microsecond:  # the body has whole seconds: never too early
                    moment = moment.replace(microsecond=0) + timedelta(seconds=1)
                after = moment.strftime("%Y-%b-%d %H:%M:%S+0000 UTC")
                body = {
                    "code": "900804",
                    "message": "Message throttled out",
                    "description": "You have exceeded your quota "
                    f".You can access API after {after}",
                    "nextAccessTime": after,
                }
        else:
            hours, rest = divmod(gateway_s, 3600)
            body = {
                "error": "429",
                "error_description": f"Quota {quota} reached  "
                f"Call threshold allowed on {hours}:{rest // 60:02d}:{rest % 60:02d}",
            }
        return JSONResponse(body, status_code=429)


async def token(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    grant = await oauth.client_credentials(request, state.settings, _TOKEN_ERRORS)
    if isinstance(grant, Response):
        return grant
    value = secrets.token_urlsafe(32)
    state.tokens[value] = time.monotonic() + TOKEN_LIFETIME_S
    return JSONResponse(
        {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": str(TOKEN_LIFETIME_S),
            "scope": "",
        }
    )


def _gate(request: Request) -> Response | Meter:
    """Token, quota, injected fault and PRM checks common to every data call."""
    state: EmulatorState = request.app.state.emulator
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    if state.tokens.get(bearer, 0) < time.monotonic():
        return _error(
            401,
            "invalid_token",
            "Valid authentication credentials are mandatory to access the resource",
        )
    over = state.over_quota()
    if over:
        return state.throttled_response(*over)
    state.calls += 1
    if state.faults:
        status, code = state.faults.pop(0)
        if status == 429:
            return state.throttled_response("Q4", 1.0 / state.settings.quota_time_scale)
        return _error(status, code or "ADAM-DC-0500", "Technical Exception")
    prm = request.query_params.get("usage_point_id", "")
    if not _PRM.fullmatch(prm):
        return _error(400, "invalid_request", "usage_point_id parameter is required.")
    meter = state.meters.get(prm)
    if meter is None or prm in state.revoked:
        return _error(
            403,
            "ADAM-DC-0008",
            "No consent can be found for this customer and this usage point.",
        )
    return meter


def _reading(
    meter: Meter,
    start: date,
    end: date,
    kind: dict[str, str],
    points: list[dict[str, str]],
) -> JSONResponse:
    if not points:
        return _error(404, "no_data_found", "no measure found for this usage point")
    return JSONResponse(
        {
            "meter_reading": {
                "usage_point_id": meter.prm,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "quality": "BRUT",
                "reading_type": kind,
                "interval_reading": points,
            }
        }
    )


def metering(path: str) -> Callable[[Request], Any]:
    curve = path.endswith("load_curve")
    production = "production" in path
    max_power = path.endswith("max_power")

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        gate = _gate(request)
        if isinstance(gate, Response):
            return gate
        meter = gate
        try:
            start = date.fromisoformat(request.query_params["start"])
            end = date.fromisoformat(request.query_params["end"])
        except (KeyError, ValueError):
            return _error(
                400, "invalid_request", "start and end are required (YYYY-MM-DD)."
            )
        today = state.today()
        if start >= end:
            return _error(
                400, "invalid_request", "The start date must be before the end date."
            )
        if end > today:
            return _error(
                400,
                "invalid_request",
                "The end date parameter must be earlier than the current date.",
            )
        if curve and (end - start).days > 7:
            return _error(
                400,
                "ADAM-ERR0126",
                "The requested period must be less than 7 days "
                "for an access to the load curve",
            )
        if start < _months_ago(today, 24 if curve else 36):
            return _error(
                400,
                "ADAM-ERR0125",
                "The start date must be greater than the history deadline.",
            )
        if meter.consent_start is not None and start < meter.consent_start:
            return _error(
                403,
                "ADAM-DC-0009",
                "The start date of the request must be greater than "
                "the consent start date.",
            )
        if (production and not meter.production) or (
            not production and not meter.consumption
        ):
            return _error(
                400,
                "ADAM-ERR0069",
                "Le sens de la mesure ne correspond pas pour le PRM demandé.",
            )
        if start < meter.activation:
            return _error(
                400,
                "ADAM-ERR0123",
                "The requested period cannot be anterior "
                "to the meter's last activation date",
            )
        if curve and not meter.curve_enabled:
            return _error(404, "no_data_found", "no measure found for this usage point")
        stop = min(end, state.published_end(meter))
        days = [start + timedelta(days=i) for i in range(max(0, (stop - start).days))]
        points: list[dict[str, str]] = []
        for day in days:
            if profiles.is_hole(meter, day) and day.weekday() == 1:
                continue  # Tuesdays: points omitted
            null = profiles.is_hole(meter, day)  # Wednesdays: "null" values
            if curve:
                values, minutes = profiles.curve_day(meter, day, production)
                length = f"PT{minutes}M"
                for stamp, value in zip(
                    profiles.end_stamps(meter, day), values, strict=True
                ):
                    points.append(
                        {
                            "value": "null" if null else str(value),
                            "date": stamp,
                            "interval_length": length,
                            "measure_type": "B",
                        }
                    )
            elif null:  # a missing day as the 2025 fixtures show it
                points.append({"value": "null", "date": day.isoformat()})
            elif max_power:
                va, at = profiles.max_power(meter, day)
                points.append(
                    {
                        "value": str(va),
                        "date": at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"),
                    }
                )
            else:
                points.append(
                    {
                        "value": str(profiles.daily_wh(meter, day, production)),
                        "date": day.isoformat(),
                    }
                )
        if curve:
            kind = {"unit": "W", "measurement_kind": "power", "aggregate": "average"}
        elif max_power:
            kind = {
                "unit": "VA",
                "measurement_kind": "power",
                "aggregate": "maximum",
                "measuring_period": "P1D",
            }
        else:
            kind = {
                "unit": "Wh",
                "measurement_kind": "energy",
                "aggregate": "sum",
                "measuring_period": "P1D",
            }
        return _reading(meter, start, end, kind, points)

    return endpoint


def customers(what: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        gate = _gate(request)
        if isinstance(gate, Response):
            return gate
        meter = gate
        if not meter.consumption:
            return _error(
                400,
                "ADAM-ERR0069",
                "Customer data is only available through a consumption usage point.",
            )
        holder = state.holders.get(meter.prm) or holders.generated(meter)
        if what in ("identity", "contact_data"):
            if what == "identity":
                return JSONResponse(holders.identity_body(holder))
            return JSONResponse(holders.contact_body(holder))
        usage_point: dict[str, Any] = {
            "usage_point_id": meter.prm,
            "usage_point_status": "com",
            "meter_type": "AMM",
        }
        entry: dict[str, Any] = {"usage_point": usage_point}
        if what == "contracts":
            entry["contracts"] = {
                "segment": "C5",
                "subscribed_power": f"{6 + 3 * (meter.seed % 3)} kVA",
                "last_activation_date": (
                    f"{(meter.reported_activation or meter.activation).isoformat()}"
                    "+01:00"
                ),
                "distribution_tariff": "BTINFCUST" if meter.seed % 2 else "BTINFMUDT",
                "offpeak_hours": None if meter.seed % 2 else "HC (23h00-7h00)",
                "contract_type": "CARD-S",
                "contract_status": "SERVC",
                "last_distribution_tariff_change_date": "2017-05-25+01:00",
            }
        else:
            usage_point["usage_point_addresses"] = {
                "street": f"{meter.seed % 97 + 1} avenue de la Démo",
                "locality": None,
                "postal_code": "38130" if meter.insee_code == "38151" else "75001",
                "insee_code": meter.insee_code,
                "city": "Échirolles" if meter.insee_code == "38151" else "Paris",
                "country": "France",
                "geo_points": {
                    "latitude": f"{meter.latitude:.6f}",
                    "longitude": f"{meter.longitude:.6f}",
                    "altitude": "230",
                },
            }
        return JSONResponse(
            {
                "customer": {
                    "customer_id": holder.customer_id,
                    "usage_points": [entry],
                }
            }
        )

    return endpoint


async def authorize(request: Request) -> Response:
    """Consent page: validates, then redirects back as Enedis does (``POST``: the
    account sign-in, see :mod:`enedis_emulator.customers`)."""
    state: EmulatorState = request.app.state.emulator
    query = request.query_params
    if (
        query.get("client_id") != state.settings.client_id
        or query.get("response_type") != "code"
    ):
        return _error(400, "invalid_request", "missing_parameter")
    match = _DURATION.fullmatch(query.get("duration", ""))
    if not match or not any(match.groups()):
        return _error(400, "invalid_request", "invalid_duration_format")
    years, months, days = (int(g or 0) for g in match.groups())
    if years * 365 + months * 30 + days > 3 * 365 + 1:
        return _error(400, "invalid_request", "maximum_duration_exceeded")
    consent_state = query.get("state", "")
    if len(consent_state) > 100 or "redirect_uri" not in query:
        return _error(400, "invalid_request", "missing_parameter")
    signed_in = await holders.sign_in(request, state.meters, state.holders)
    if signed_in is not None:
        return signed_in
    client = int(consent_state[-1]) if consent_state[-1:].isdigit() else 0
    prms = [m.prm for m in profiles.SANDBOX if m.client == client]
    for prm in prms:
        if not state.meters[prm].revoked:
            state.revoked.discard(prm)
    target = (
        query["redirect_uri"]
        + "?"
        + urlencode(
            {
                "code": secrets.token_urlsafe(12),
                "state": consent_state,
                "usage_point_id": ";".join(prms),
            }
        )
    )
    return RedirectResponse(target, status_code=302)


async def hooks(request: Request) -> Response:
    """Test hooks: ``POST /_emulator/revoke?prm=…``, ``POST /_emulator/faults``.

    ``faults`` takes ``{"status": 429|5xx|4xx, "count": n, "error": code?}``: the
    next ``n`` data calls answer that status (429 in the configured body shape).
    """
    state: EmulatorState = request.app.state.emulator
    action = request.path_params["action"]
    if action == "revoke":
        state.revoked.add(request.query_params["prm"])
    elif action == "faults":
        body = await request.json()
        fault = (int(body["status"]), body.get("error"))
        state.faults.extend([fault] * int(body["count"]))
    elif action != "stats":
        return _error(404, "not_found", action)
    return JSONResponse(
        {
            "calls": state.calls,
            "throttled": state.throttled,
            "faults": len(state.faults),
        }
    )


async def healthz(_: Request) -> Response:
    return JSONResponse({"live": True})


def build_app(state: EmulatorState) -> Starlette:
    """The ASGI app of one emulator state."""
    routes = [
        Route("/oauth2/v3/token", token, methods=["POST"]),
        Route("/dataconnect/v1/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", healthz),
        Route("/_emulator/{action}", hooks, methods=["POST", "GET"]),
        Route("/customers_upc/v5/usage_points/contracts", customers("contracts")),
        Route("/customers_upa/v5/usage_points/addresses", customers("addresses")),
        Route("/customers_i/v5/identity", customers("identity")),
        Route("/customers_cd/v5/contact_data", customers("contact_data")),
    ]
    for path in (
        "metering_data_dc/v5/daily_consumption",
        "metering_data_clc/v5/consumption_load_curve",
        "metering_data_dcmp/v5/daily_consumption_max_power",
        "metering_data_dp/v5/daily_production",
        "metering_data_plc/v5/production_load_curve",
    ):
        routes.append(Route("/" + path, metering(path)))
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
