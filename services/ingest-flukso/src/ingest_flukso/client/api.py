"""flukso.net REST API v1.0 client (httpx): minute averages for backfill, day
averages for first-contact history (contract §2.3)."""

from __future__ import annotations

import math
from datetime import datetime

import httpx
from pydantic import SecretStr

from energy_core.errors import (
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)


class FluksoApi:
    """flukso.net REST v1.0: minute or day averages of a sensor (end-stamped buckets)."""

    def __init__(self, http: httpx.AsyncClient, token: SecretStr) -> None:
        self._http = http
        self._token = token

    async def minutes(
        self, sensor: str, start: datetime, end: datetime
    ) -> list[tuple[int, float | None]]:
        """``[(bucket end, W or None for "nan")]`` for ``(start, end]``, sorted."""
        params = {"start": int(start.timestamp()), "end": int(end.timestamp())}
        return await self._get(sensor, {**params, "resolution": "minute"})

    async def days(self, sensor: str) -> list[tuple[int, float | None]]:
        """Average power (W) per UTC day for the last year (365 end-stamped
        buckets, the last one usually "nan"): the longest span the day
        resolution allows, and the finest history flukso.net keeps that long."""
        return await self._get(sensor, {"interval": "year", "resolution": "day"})

    async def _get(
        self, sensor: str, params: dict[str, str | int]
    ) -> list[tuple[int, float | None]]:
        try:
            response = await self._http.get(
                f"/sensor/{sensor}",
                params={**params, "unit": "watt"},
                headers={
                    "Accept": "application/json",
                    "X-Version": "1.0",
                    "X-Token": self._token.get_secret_value(),
                },
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"flukso.net unreachable: {exc}") from exc
        status = response.status_code
        if status == 404:
            raise NoDataError("flukso.net has no data for this sensor")
        if status == 429:
            raise RateLimitedError("flukso.net rate limit")
        if status >= 500:
            raise UpstreamUnavailableError(f"flukso.net answered {status}")
        if status != 200:
            raise PermanentError(f"flukso.net refused the request ({status})")
        return _points(response)


def _points(response: httpx.Response) -> list[tuple[int, float | None]]:
    try:
        body = response.json()
        points = [
            (int(ts), None if value in ("nan", "NaN") else float(value))
            for ts, value in body
        ]
    except (ValueError, TypeError) as exc:
        raise PayloadInvalidError(
            f"flukso.net answer is not [[ts, value]]: {exc}"
        ) from exc
    if not all(v is None or math.isfinite(v) for _, v in points):
        raise PayloadInvalidError("flukso.net answer holds a non-finite value")
    return points
