"""The ADICT client: one token and one limiter shared by every worker.

Why it is shaped this way:
- the token lasts ~4 h; a backfill outlives it. It is renewed ``margin`` seconds
  before ``expires_in`` runs out and, when ADICT answers 401 anyway (revoked,
  clock skew, the emulator's ``tokens_expire``), renewed once for all workers:
  a worker renews only if the token it used is still the current one;
- every call, whoever makes it, waits for the shared :class:`QuotaLimiter`, and
  is sent the moment its slot comes (the token is taken before the slot, the
  NDJSON is parsed off the event loop), so what reaches GRDF is spaced as the
  limiter spaced it;
- 5xx, maintenance 503 and timeouts are ridden out with the ``Backoff``; a 429
  delays only the call that got it (``Retry-After`` when GRDF gives one, else
  the backoff): the other workers' slots are already spaced, and pausing them
  all for one call that landed early would waste every slot of the pause. A
  ``Retry-After`` longer than ``hold_after_s`` (a cap that will not clear soon,
  e.g. the day's) holds the shared limiter, since no call would pass before;
- ADICT answers functional refusals inside HTTP 200 (``statut_restitution``):
  the client returns the objects as they are and the mapping decides per object.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from energy_core.errors import PermanentError, RateLimitedError, TransientError
from energy_core.loops import Backoff
from ingest_grdf import metrics
from ingest_grdf.client.limiter import QuotaLimiter
from ingest_grdf.client.ndjson import Parsed, parse


class AdictRefusedError(PermanentError):
    """A 4xx (other than 401/429) with ADICT's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"ADICT {status} {code}")
        self.status = status
        self.code = code
        self.message = message


class TokenProvider:
    """Client-credentials tokens with ``scope``; renewed early and once on 401."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        margin_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._margin = margin_s
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.renewals = 0

    async def get(self) -> str:
        """The current token, renewed when it is about to expire."""
        async with self._lock:
            if self._token is None:
                await self._renew("first")
            elif self._monotonic() >= self._expires_at - self._margin:
                await self._renew("expiring")
            if self._token is None:  # _renew either sets it or raises
                raise TransientError("no token")
            return self._token

    async def rejected(self, token: str) -> None:
        """ADICT refused ``token``: renew it unless another worker already did."""
        async with self._lock:
            if token == self._token:
                await self._renew("rejected")

    async def ready(self) -> bool:
        """A token can be had (readiness probe)."""
        try:
            await self.get()
        except (TransientError, PermanentError, httpx.HTTPError):
            return False
        return True

    async def _renew(self, reason: str) -> None:
        try:
            answer = await self._http.post(self._url, data=self._form)
        except httpx.HTTPError as exc:
            raise TransientError(
                f"token endpoint unreachable: {type(exc).__name__}"
            ) from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TransientError(f"token endpoint answered {answer.status_code}")
        if answer.status_code != 200:
            raise AdictRefusedError(answer.status_code, "token", "token refused")
        body = answer.json()
        self._token = str(body["access_token"])
        self._expires_at = self._monotonic() + float(body.get("expires_in", 14399))
        self.renewals += 1
        metrics.TOKEN_RENEWALS.labels(reason).inc()


class AdictClient:
    """The ADICT endpoints SEN1 uses; returns raw objects (no mapping)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        tokens: TokenProvider,
        limiter: QuotaLimiter,
        *,
        backoff: Backoff,
        max_attempts: int = 8,
        sleep: Callable[[float], Any] = asyncio.sleep,
        injections_path: str = "donnees_injections_publiees",
        hold_after_s: float = 60.0,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self.tokens = tokens
        self.limiter = limiter
        self._backoff = backoff
        self._attempts = max_attempts
        self._sleep = sleep
        self._injections = injections_path
        self._hold_after = hold_after_s
        self.rate_limited = 0

    async def _call(
        self,
        resource: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        files: Any = None,
    ) -> httpx.Response:
        """One logical call: quota slot, token, retries of what is transient."""
        failures = 0
        rejected = 0
        while True:
            # the token first: nothing may stand between the slot and the send
            token = await self.tokens.get()
            await self.limiter.acquire()
            metrics.QUOTA_USED.set(self.limiter.used_ratio)
            retry_after: float | None = None
            try:
                answer = await self._http.request(
                    method,
                    f"{self._base}{path}",
                    params=params,
                    json=json,
                    files=files,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                metrics.REQUESTS.labels(resource, "transport_error").inc()
                error: TransientError = TransientError(
                    f"ADICT unreachable: {type(exc).__name__}"
                )
            else:
                status = answer.status_code
                if status == 401 and rejected < 2:
                    metrics.REQUESTS.labels(resource, "token_refused").inc()
                    rejected += 1
                    await self.tokens.rejected(token)
                    continue
                if status == 429:
                    metrics.REQUESTS.labels(resource, "rate_limited").inc()
                    metrics.RATE_LIMITED.inc()
                    self.rate_limited += 1
                    retry_after = _retry_after(answer)
                    error = RateLimitedError("ADICT 429", retry_after=retry_after)
                elif status >= 500:
                    metrics.REQUESTS.labels(resource, "unavailable").inc()
                    retry_after = _retry_after(answer)
                    error = TransientError(f"ADICT {status}", retry_after=retry_after)
                elif status >= 400:
                    metrics.REQUESTS.labels(resource, "refused").inc()
                    code, message = _code_of(answer)
                    raise AdictRefusedError(status, code, message)
                else:
                    metrics.REQUESTS.labels(resource, "ok").inc()
                    return answer
            failures += 1
            if retry_after is not None and retry_after > self._hold_after:
                # e.g. GRDF's day is spent: no call of anybody passes before
                self.limiter.pause(retry_after)
                raise error
            if failures >= self._attempts:
                raise error
            # only this call waits; the others keep their slots
            await self._sleep(self._backoff.delay(failures, retry_after=retry_after))

    async def _stream(
        self, resource: str, path: str, params: dict[str, str] | None = None
    ) -> Parsed:
        answer = await self._call(resource, "GET", path, params=params)
        # three years of gas days are ~1 MB: parsed off the event loop, so the
        # other workers' calls leave on their slots meanwhile
        return await asyncio.to_thread(parse, answer.text)

    # -- access rights ---------------------------------------------------------

    async def declare(self, pce: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /pce/{id}/droit_acces``: the right, ``A valider``."""
        answer = await self._call(
            "declare", "PUT", f"/pce/{pce}/droit_acces", json=body
        )
        result: dict[str, Any] = answer.json()
        return result

    async def rights(self, pces: list[str] | None = None) -> Parsed:
        """``POST /droits_acces`` (filtered on PCEs) or ``GET`` (all of them)."""
        if pces:
            answer = await self._call(
                "rights", "POST", "/droits_acces", json={"id_pce": pces}
            )
        else:
            answer = await self._call("rights", "GET", "/droits_acces")
        return parse(answer.text)

    async def revoke(self, right_id: str) -> None:
        """``PATCH /droit_acces/{id}``: the third party's own revocation."""
        await self._call("revoke", "PATCH", f"/droit_acces/{right_id}", json={})

    async def upload_proofs(
        self, right_id: str, files: list[tuple[str, bytes, str]]
    ) -> None:
        """``PUT /droit_acces/{id}/preuves``: multipart ``preuves`` (name, bytes, type)."""
        await self._call(
            "proofs",
            "PUT",
            f"/droit_acces/{right_id}/preuves",
            files=[("preuves", file) for file in files],
        )

    # -- data --------------------------------------------------------------------

    async def informatives(self, pce: str, start: str, end: str) -> Parsed:
        """Daily informatives of gas days ``[start, end)`` (``YYYY-MM-DD``)."""
        return await self._stream(
            "informatives",
            f"/pce/{pce}/donnees_consos_informatives",
            {"date_debut": start, "date_fin": end},
        )

    async def published(self, pce: str, start: str, end: str) -> Parsed:
        """Published (billing) readings overlapping ``[start, end)``."""
        return await self._stream(
            "published",
            f"/pce/{pce}/donnees_consos_publiees",
            {"date_debut": start, "date_fin": end},
        )

    async def injections(self, pce: str, start: str, end: str) -> Parsed:
        """Published injection periods (biomethane) overlapping ``[start, end)``."""
        return await self._stream(
            "injections",
            f"/pce/{pce}/{self._injections}",
            {"date_debut": start, "date_fin": end},
        )

    async def contractual(self, pce: str) -> dict[str, Any]:
        """``donnees_contractuelles`` (one JSON object)."""
        answer = await self._call(
            "contract", "GET", f"/pce/{pce}/donnees_contractuelles"
        )
        result: dict[str, Any] = answer.json()
        return result

    async def technical(self, pce: str) -> dict[str, Any]:
        """``donnees_techniques`` (one JSON object)."""
        answer = await self._call("technical", "GET", f"/pce/{pce}/donnees_techniques")
        result: dict[str, Any] = answer.json()
        return result


def _retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _code_of(answer: httpx.Response) -> tuple[str, str]:
    try:
        body = answer.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    status = body.get("statut_restitution") or {}
    code = body.get("code_statut_traitement") or status.get("code") or ""
    message = body.get("message_retour_traitement") or status.get("message") or ""
    return str(code), str(message)
