"""The emulated flukso.net REST API v1.0: ``GET /sensor/<sid>`` (contract §2.3).

Reproduced: header/query duality of version and token (both -> 400), ``interval``
vs ``start``/``end`` exclusivity, default resolutions, max-interval clamps,
alignment, end-of-bucket timestamps, integer rounding, ``"nan"`` (incomplete last
bucket, minute data older than 24 h, the minute of a counter reset; coarser buckets
average their known minutes), unit factors,
JSONP ``callback``, ``text/csv``, ``param=all``, and 400/401/404. History comes
from :mod:`flukso_emulator.model`, the generator the live devices use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from flukso_emulator.model import (
    RESET_AT,
    RESET_EVERY,
    SimDevice,
    SimSensor,
    mean_power,
    minute_power,
)

_RES = {
    "minute": 60,
    "15min": 900,
    "hour": 3600,
    "day": 86400,
    "week": 604800,
    "month": 2_419_200,
    "year": 31_536_000,
    "decade": 315_360_000,
    "night": 86400,
}
_DEFAULT_RES = {
    "15min": "minute",
    "hour": "minute",
    "day": "15min",
    "week": "day",
    "month": "day",
    "year": "week",
    "decade": "week",
    "night": "day",
}
_MAX_SPAN = {"minute": 86400, "15min": 604800, "day": 31_536_000, "week": 315_360_000}
_RETENTION = {"minute": 86400, "15min": 604800, "day": 31_536_000}
_UNIT = {  # factor from Wh/s (the RRD's stored rate)
    "watt": 3600,
    "kwhperyear": 31536,
    "eurperyear": 5676,
    "audperyear": 5991,
    "lpermin": 60,
    "lperday": 86400,
    "m3peryear": 31536,
}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_CALLBACK = re.compile(r"[0-9A-Za-z_]+")


class _BadRequestError(Exception):
    pass


def _one_of(request: Request, header: str, query: str) -> str | None:
    in_header = request.headers.get(header)
    in_query = request.query_params.get(query)
    if in_header is not None and in_query is not None:
        raise _BadRequestError(f"{header} and {query} given twice")
    return in_header if in_header is not None else in_query


def _window(request: Request, now: int) -> tuple[int, int, str]:
    q = request.query_params
    interval, start = q.get("interval"), q.get("start")
    if interval is not None and (start is not None or "end" in q):
        raise _BadRequestError("interval and start/end are exclusive")
    if interval is not None:
        if interval not in _DEFAULT_RES:
            raise _BadRequestError("bad interval")
        resolution = q.get("resolution", _DEFAULT_RES[interval])
        if resolution not in _RES:
            raise _BadRequestError("bad resolution")
        step = _RES[resolution]
        end = ((now - 1) // step + 1) * step
        return end - _RES[interval], end, resolution
    if start is None:
        raise _BadRequestError("interval or start is required")
    resolution = q.get("resolution", "minute")
    if resolution not in _RES or not start.isdigit():
        raise _BadRequestError("bad resolution or start")
    end_s = q.get("end", str(now))
    if not end_s.isdigit():
        raise _BadRequestError("bad end")
    step = _RES[resolution]
    lo = max(int(start), now - _RES["decade"]) // step * step
    hi = int(end_s) // step * step
    if hi < lo:
        raise _BadRequestError("end < start")
    lo = max(lo, hi - _MAX_SPAN.get(resolution, hi - lo))
    return lo, hi, resolution


def _average(sensor: SimSensor, device: SimDevice, lo: int, hi: int) -> float | None:
    """Average power (W) over ``[lo, hi)``; None where the RRD would say unknown.

    The minute of a reflash is unknown (a negative rate is out of range for the
    DERIVE DS); a longer bucket averages its known minutes, as RRD consolidation
    does, and is unknown only when most of them are (an xff of 0.5, rrdtool's usual
    value: the contract does not give flukso.net's).
    """
    first, stop = lo // 60, (hi + 59) // 60
    count = stop - first
    resets: range = range(0)
    if "counter_reset" in device.behaviours:
        every, at = RESET_EVERY // 60, RESET_AT // 60
        resets = range(first + (at - first) % every, stop, every)
    if 2 * len(resets) >= count:
        return None
    if count <= 15:  # the minute backfill's spans: the live ticks' cache
        total = sum(minute_power(sensor, m) for m in range(first, stop))
    else:
        total = mean_power(sensor, first, stop) * count
    total -= sum(minute_power(sensor, m) for m in resets)
    return total / (count - len(resets))


def make_app(
    devices: list[SimDevice],
    *,
    token: str,
    now: Callable[[], float],
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    """The REST app over ``devices``; ``now`` is the emulated clock (unix s)."""
    sensors = {s.sensor_id: (s, d) for d in devices for s in d.sensors}

    async def sensor(request: Request) -> Response:
        sid = request.path_params["sid"]
        try:
            version = _one_of(request, "x-version", "version")
            given = _one_of(request, "x-token", "token")
            if version != "1.0" or not _HEX32.fullmatch(sid):
                raise _BadRequestError("bad version or sensor")
            if given is None or not _HEX32.fullmatch(given):
                raise _BadRequestError("bad token")
            unit = request.query_params.get("unit", "watt")
            callback = request.query_params.get("callback")
            if unit not in _UNIT or (callback and not _CALLBACK.fullmatch(callback)):
                raise _BadRequestError("bad unit or callback")
            clock = int(now())
            if request.query_params.get("param") != "all":
                lo, hi, resolution = _window(request, clock)
        except _BadRequestError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if given != token:
            return PlainTextResponse(
                "", status_code=401, headers={"WWW-Authenticate": "Access refused"}
            )
        if sid not in sensors:
            return PlainTextResponse("no such sensor", status_code=404)
        sim, device = sensors[sid]
        if request.query_params.get("param") == "all":
            meta = {"access": clock, "type": "electricity", "function": sim.function}
            meta |= {"class": "analog", "enabled": 1, "lastupdate": [clock, "NaN"]}
            return JSONResponse(meta)
        step = _RES[resolution]
        points: list[list[int | str]] = []
        for end in range(lo + step, hi + 1, step):
            watts = None
            if end <= clock and end > clock - _RETENTION.get(resolution, 10**10):
                watts = _average(sim, device, end - step, end)
            value: int | str = "nan"
            if watts is not None:
                value = round(watts / 3600 * _UNIT[unit])
            points.append([end, value])
        if "text/csv" in request.headers.get("accept", ""):
            csv = "".join(f"{t},{v}\r\n" for t, v in points)
            return PlainTextResponse(csv, media_type="text/csv")
        body = json.dumps(points, separators=(",", ":"))
        if callback:
            return Response(f"{callback}({body})", media_type="application/javascript")
        return Response(body, media_type="application/json")

    routes: list[BaseRoute] = [Route("/sensor/{sid}", sensor)]
    return Starlette(routes=routes + (extra_routes or []))
