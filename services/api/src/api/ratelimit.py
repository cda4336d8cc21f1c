"""Limits that refuse work before it costs: sign-in attempts and open SSE streams.

argon2 spends ~0.1 s of CPU per password check on purpose, so a flood of sign-ins
is a denial of service unless it is refused *before* hashing. Every limit here is
in memory, per api process (N replicas allow N times the figures): cheap enough to
run before any database round trip, and nothing to clean up after a restart.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Iterator

from fastapi import Request
from prometheus_client import Counter, Gauge
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api import auth
from api.auth import Principal
from api.deps import bearer_token
from api.problems import Problem
from api.settings import Settings

Clock = Callable[[], float]
LOGIN_REFUSED = Counter(
    "api_login_refused_total",
    "Sign-in attempts refused before the password check",
    ["reason"],
)
STREAMS_OPEN = Gauge("api_sse_streams_open", "Open SSE streams")
STREAMS_REFUSED = Counter("api_sse_refused_total", "SSE streams refused (429)")


def too_many(detail: str, retry_after_s: float, *, kind: str) -> Problem:
    """A 429 problem with ``Retry-After`` in whole seconds (RFC 9110 §10.2.3)."""
    return Problem(
        429,
        detail,
        kind=kind,
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
    )


class SlidingWindow:
    """At most ``limit`` hits per ``window_s`` seconds for each key.

    Keys are kept in least-recently-used order and the table is capped, so a flood
    of distinct keys (made-up e-mail addresses) costs bounded memory (~20 MB at
    the default cap): the oldest key is forgotten first, the least dangerous one
    to forget. A key holds at most ``limit`` instants (a short list).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 50_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self._limit, self._window, self._max = limit, window_s, max_keys
        self._clock = clock
        self._hits: OrderedDict[Hashable, list[float]] = OrderedDict()

    def _recent(self, key: Hashable, now: float) -> list[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = []
            self._hits[key] = hits
            while len(self._hits) > self._max:
                self._hits.popitem(last=False)
            return hits
        self._hits.move_to_end(key)
        hits[:] = [t for t in hits if t > now - self._window]
        return hits

    def wait(self, key: Hashable) -> float:
        """Seconds before ``key`` may hit again; 0 if it may now."""
        now = self._clock()
        hits = self._recent(key, now)
        if len(hits) < self._limit:
            return 0.0
        return hits[-self._limit] + self._window - now

    def hit(self, key: Hashable) -> None:
        """Counts one hit for ``key`` now (only the last ``limit`` are kept)."""
        now = self._clock()
        hits = self._recent(key, now)
        hits.append(now)
        del hits[: -self._limit]

    def forget(self, key: Hashable) -> None:
        """Clears ``key`` (a successful sign-in clears its account's failures)."""
        self._hits.pop(key, None)


class LoginGuard:
    """Per account, per address and overall limits on password checks.

    An attempt is counted against its account *before* the check (and forgiven if
    it succeeds): counted after, a hundred simultaneous guesses would all pass the
    test before the first one failed.
    """

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic) -> None:
        self._accounts = SlidingWindow(
            settings.login_account_attempts,
            settings.login_account_window_s,
            clock=clock,
        )
        self._addresses = SlidingWindow(
            settings.login_address_attempts,
            settings.login_address_window_s,
            clock=clock,
        )
        self._max_running = settings.login_max_concurrent
        self._running = 0

    @contextlib.contextmanager
    def attempt(self, email: str, address: str) -> Iterator[None]:
        """Admits one password check, or raises a 429 problem before any work.

        Leave the block normally only when the password held; an exception (the
        401 of a wrong password) leaves the attempt counted.
        """
        account = email.strip().lower()
        wait = self._addresses.wait(address)
        if wait:
            LOGIN_REFUSED.labels("address").inc()
            raise too_many(
                "too many sign-in attempts from this address; try again later",
                wait,
                kind="too-many-attempts",
            )
        wait = self._accounts.wait(account)
        if wait:
            LOGIN_REFUSED.labels("account").inc()
            raise too_many(
                "too many failed sign-ins for this account; try again later",
                wait,
                kind="too-many-attempts",
            )
        if self._running >= self._max_running:
            LOGIN_REFUSED.labels("busy").inc()
            raise too_many(
                "the server is busy checking other sign-ins; try again",
                1,
                kind="too-many-attempts",
            )
        self._addresses.hit(address)
        self._accounts.hit(account)
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1
        self._accounts.forget(account)


class StreamLimits:
    """Open SSE streams per caller (account or API key) and for the whole process.

    A stream holds a subscription queue or a polling loop for as long as the client
    keeps it open; without a cap one account opens thousands.
    """

    def __init__(self, per_caller: int, total: int) -> None:
        self._per_caller, self._total = per_caller, total
        self._open: dict[Hashable, int] = {}
        self._count = 0

    def open(self, caller: Hashable) -> Callable[[], None]:
        """Takes a slot for ``caller`` or raises a 429; returns the (idempotent) release."""
        if self._open.get(caller, 0) >= self._per_caller:
            STREAMS_REFUSED.inc()
            raise too_many(
                f"at most {self._per_caller} open streams per account or key; "
                "close one first",
                5,
                kind="too-many-streams",
            )
        if self._count >= self._total:
            STREAMS_REFUSED.inc()
            raise too_many(
                "the server holds as many streams as it can; try again later",
                5,
                kind="too-many-streams",
            )
        self._open[caller] = self._open.get(caller, 0) + 1
        self._count += 1
        STREAMS_OPEN.inc()
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._count -= 1
            STREAMS_OPEN.dec()
            left = self._open[caller] - 1
            if left:
                self._open[caller] = left
            else:
                del self._open[caller]

        return release

    def open_for(self, caller: Hashable) -> int:
        """Streams ``caller`` holds now (tests, metrics)."""
        return self._open.get(caller, 0)


class _LeasedStream(StreamingResponse):
    """A stream that gives its slot back however it ends (done, client gone, error)."""

    def __init__(
        self, content: AsyncIterable[str], release: Callable[[], None]
    ) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"cache-control": "no-store"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _while_valid(
    request: Request, token: str | None, content: AsyncIterable[str]
) -> AsyncIterator[str]:
    """``content`` until the credentials it was opened with are revoked or expire.

    Checked between events at most every ``API_SSE_RECHECK_S``: without it a
    revoked key or an ended session would keep an open stream for ever.
    """
    every = request.app.state.settings.sse_recheck_s
    checked = time.monotonic()
    try:
        async for chunk in content:
            if token is not None and time.monotonic() - checked >= every:
                checked = time.monotonic()
                async with request.app.state.pool.acquire() as conn:
                    if await auth.resolve(conn, token) is None:
                        return
            yield chunk
    finally:
        close = getattr(content, "aclose", None)
        if close is not None:
            await close()  # the hub subscription of the stream ends with it


def event_stream(
    request: Request, user: Principal, content: AsyncIterable[str]
) -> StreamingResponse:
    """An SSE response counted against the caller's account or key, or a 429."""
    caller = (
        ("account", user.account_id)
        if user.account_id is not None
        else ("key", user.key_id or user.scope_id)
    )
    release = request.app.state.streams.open(caller)
    return _LeasedStream(_while_valid(request, bearer_token(request), content), release)
