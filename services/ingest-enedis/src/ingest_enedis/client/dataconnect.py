"""Data Connect v5 HTTP client (httpx). Knows no Kafka and no database.

An import contract keeps it so: the client speaks HTTP and vendor errors, the
mapping reads payloads, and only ``service.py`` wires them to the publisher and
the repository.

One call = one HTTP request drawn from the shared :class:`SlidingWindowLimiter`.
Vendor errors become :mod:`energy_core.errors` so that the service decides what to
do by type: retry (``TransientError``), stop (``ConsentRevokedError``), record a
hole (``NoDataError``) or move the window (:class:`BeforeActivationError`).
The access token is app-wide (client credentials, token v3), kept in memory only,
renewed before it expires and never logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from energy_core.errors import (
    ConsentRevokedError,
    EnergyError,
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from ingest_enedis import metrics
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.settings import Settings
from ingest_enedis.streams import Stream

logger = logging.getLogger(__name__)

_TOKEN_MARGIN = 0.1
"""Renew when less than 10 % of the token's life is left."""
_CONSENT_CODES = frozenset({"ADAM-DC-0008", "ADAM_DC_0008", "ADAM-DC-0007"})
_NO_DATA_CODES = frozenset({"no_data_found", "STM-ERR-0000014", "STM-ERR-0000020"})
_THRESHOLD = re.compile(r"allowed on (-?\d+):(-?\d+):(-?\d+)")
"""Legacy 429: ``Quota Q4 reached  Call threshold allowed on 0:-30:-40`` (a delay)."""
_ACCESS_AFTER = re.compile(r"(\d{4}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{4})")
"""WSO2 429: ``You can access API after 2026-Jul-17 05:00:00+0000 UTC`` (an instant)."""


class BeforeActivationError(PermanentError):
    """ADAM-ERR0123: the window starts before the meter's last activation date."""


class BeforeConsentError(PermanentError):
    """ADAM-DC-0009: the window starts before the consent start date."""


class HistoryLimitError(PermanentError):
    """ADAM-ERR0125: the window starts before the history deadline."""


class WrongDirectionError(PermanentError):
    """ADAM-ERR0069 (or customers on a production-only point): wrong direction."""


def _access_time(text: str) -> datetime | None:
    match = _ACCESS_AFTER.search(text)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y-%b-%d %H:%M:%S%z")
    except ValueError:
        return None


def _retry_after(
    response: httpx.Response, body: Mapping[str, Any], now: datetime
) -> float | None:
    """Seconds to wait after a 429, from whichever of the documented shapes came.

    ``Retry-After`` (seconds), the WSO2 ``nextAccessTime`` / "access API after
    <instant>" (an absolute UTC instant), or the legacy "Call threshold allowed on
    H:MM:SS" (a delay). An instant is never read as a delay.
    """
    header = response.headers.get("retry-after")
    if header and header.replace(".", "", 1).isdigit():
        return float(header)
    fault = body.get("fault")
    inner: Mapping[str, Any] = fault if isinstance(fault, dict) else body
    for text in (
        str(inner.get("nextAccessTime") or ""),
        str(inner.get("description") or ""),
    ):
        instant = _access_time(text)
        if instant is not None:
            return max(0.0, (instant - now).total_seconds()) or None
    match = _THRESHOLD.search(str(body.get("error_description") or ""))
    if match:
        seconds = sum(
            abs(int(g)) * m for g, m in zip(match.groups(), (3600, 60, 1), strict=True)
        )
        return float(seconds) or None
    return None


def _error_code(body: Mapping[str, Any]) -> str:
    fault = body.get("fault")
    if isinstance(fault, dict):
        return str(fault.get("code", ""))
    return str(body.get("error") or body.get("code") or "")


def raise_for_vendor(
    response: httpx.Response, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Turns a non-2xx Data Connect answer into the matching EnergyError."""
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
        if not isinstance(body, dict):
            body = {}
    except ValueError:
        body = {}
    code = _error_code(body)
    what = f"Data Connect {status} {code}".strip()
    if status == 429:
        raise RateLimitedError(what, retry_after=_retry_after(response, body, now()))
    if status >= 500:
        raise UpstreamUnavailableError(what, retry_after=None)
    if code in _CONSENT_CODES:
        raise ConsentRevokedError(what)
    if code == "ADAM-DC-0009":
        raise BeforeConsentError(what)
    if code == "ADAM-ERR0123":
        raise BeforeActivationError(what)
    if code in ("ADAM-ERR0125", "ADAM-DC-0016"):
        raise HistoryLimitError(what)
    if code == "ADAM-ERR0069":
        raise WrongDirectionError(what)
    if status == 404 and (code in _NO_DATA_CODES or not code):
        raise NoDataError(what)
    raise PermanentError(what)


CONTRACTS_PATH = "customers_upc/v5/usage_points/contracts"
ADDRESSES_PATH = "customers_upa/v5/usage_points/addresses"
IDENTITY_PATH = "customers_i/v5/identity"
CONTACT_PATH = "customers_cd/v5/contact_data"
_RESOURCES = {
    **{stream.value: stream.short for stream in Stream},
    CONTRACTS_PATH: "contracts",
    ADDRESSES_PATH: "addresses",
    IDENTITY_PATH: "identity",
    CONTACT_PATH: "contact",
}


def outcome_of(error: BaseException | None) -> str:
    """The ``outcome`` label of a request that ended with ``error`` (None: ok)."""
    if error is None:
        return "ok"
    for kind, label in (
        (RateLimitedError, "rate_limited"),
        (UpstreamUnavailableError, "unavailable"),
        (NoDataError, "no_data"),
        (ConsentRevokedError, "consent_revoked"),
        (PayloadInvalidError, "payload_invalid"),
    ):
        if isinstance(error, kind):
            return label
    return "refused"


class DataConnectClient:
    """Token v3 + metering v5 + customers v5, over one pooled httpx client."""

    def __init__(
        self,
        settings: Settings,
        limiter: SlidingWindowLimiter,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self.limiter = limiter
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=settings.http_timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=max(8, settings.workers * 2)),
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self.requests = 0

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    async def _fetch_token(self) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
        }
        await self.limiter.acquire()
        try:
            response = await self._http.post(self._settings.token_url, data=data)
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"token: {type(exc).__name__}") from exc
        raise_for_vendor(response)
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(str(body.get("expires_in", "3600")))  # a string in v3
        except (KeyError, ValueError, TypeError) as exc:
            raise PayloadInvalidError("token answer without access_token") from exc
        self._token = token
        self._token_renew_at = time.monotonic() + lifetime * (1 - _TOKEN_MARGIN)
        metrics.TOKEN_RENEWALS.inc()
        logger.info("Data Connect token renewed (valid %.0f s)", lifetime)
        return token

    def _token_valid(self) -> bool:
        return self._token is not None and time.monotonic() < self._token_renew_at

    async def _bearer(self) -> str:
        if not self._token_valid():
            # one renewal for every worker that found the token stale at once
            async with self._token_lock:
                if not self._token_valid():
                    await self._fetch_token()
        assert self._token is not None  # noqa: S101 - set by _fetch_token
        return self._token

    async def token_ready(self, within_s: float = 5.0) -> bool:
        """Readiness: a token is held, or one can be obtained within ``within_s``.

        Only an expired token costs a request (which the next call would have
        spent anyway); a limiter paused by a 429 makes that request wait, so the
        answer is "not ready" rather than a /readyz that hangs. The secret and the
        token are never logged.
        """
        try:
            async with asyncio.timeout(within_s):
                await self._bearer()
        except (EnergyError, TimeoutError):
            return False
        return True

    def quota_used(self) -> list[float]:
        """Share of each quota window currently used (second, hour)."""
        return self.limiter.usage()

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        resource = _RESOURCES.get(path, "other")
        for attempt in (1, 2):
            token = await self._bearer()
            await self.limiter.acquire()
            self.requests += 1
            try:
                response = await self._http.get(
                    "/" + path,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError as exc:
                metrics.REQUESTS.labels(resource, "transport_error").inc()
                raise UpstreamUnavailableError(f"{path}: {type(exc).__name__}") from exc
            if response.status_code == 401 and attempt == 1:
                metrics.REQUESTS.labels(resource, "token_refused").inc()
                if self._token == token:
                    self._token = None  # expired or revoked early: renew once
                continue
            try:
                body = _body(path, response)
            except EnergyError as exc:
                if isinstance(exc, RateLimitedError):
                    metrics.RATE_LIMITED.inc()
                metrics.REQUESTS.labels(resource, outcome_of(exc)).inc()
                raise
            metrics.REQUESTS.labels(resource, "ok").inc()
            return body
        raise PermanentError(f"{path}: token refused twice")

    async def metering(
        self, stream: Stream, prm: str, start: date, end: date
    ) -> dict[str, Any]:
        """One metering window ``[start, end)`` (end exclusive) of one PRM."""
        params = {
            "usage_point_id": str(prm),
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return await self._get(stream.value, params)

    async def contract(self, prm: str) -> dict[str, Any]:
        """``customers_upc/v5/usage_points/contracts`` of one PRM."""
        return await self._get(CONTRACTS_PATH, {"usage_point_id": str(prm)})

    async def address(self, prm: str) -> dict[str, Any]:
        """``customers_upa/v5/usage_points/addresses`` of one PRM."""
        return await self._get(ADDRESSES_PATH, {"usage_point_id": str(prm)})

    async def identity(self, prm: str) -> dict[str, Any]:
        """``customers_i/v5/identity`` of one PRM (who holds it)."""
        return await self._get(IDENTITY_PATH, {"usage_point_id": str(prm)})

    async def contact(self, prm: str) -> dict[str, Any]:
        """``customers_cd/v5/contact_data`` of one PRM (its holder's e-mail)."""
        return await self._get(CONTACT_PATH, {"usage_point_id": str(prm)})


def _body(path: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a 2xx answer; vendor errors and bad bodies raised."""
    raise_for_vendor(response)
    try:
        body = response.json()
    except ValueError as exc:
        raise PayloadInvalidError(f"{path}: answer is not JSON") from exc
    if not isinstance(body, dict):
        raise PayloadInvalidError(f"{path}: answer is not an object")
    return body
