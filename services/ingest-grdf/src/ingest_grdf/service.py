"""The loop of ingest-grdf: rights → client → mapping → publisher.

One cycle:
1. the daily check of ``droits_acces`` (or sooner after a declaration): every
   right's state is mirrored into ``grdf_rights`` and each change is published
   as a consent event (granted, revoked, expired), so SEN1's consent registry
   follows GRDF's states;
2. for every PCE whose right is Active and inside its dates, ``workers`` tasks
   collect, through one client (one token, one limiter): at first contact the
   history (3 years of informatives, 5 of published readings, clamped to the
   right's data window), then each day the sliding window D-7..D again, so
   ``Provisoire`` days come back ``Définitive`` and late days are caught up
   (the reading store upserts; the aggregator moves rollups by the difference).

A cursor moves only after the broker acknowledged the readings before it. A
stream's functional refusal says what to do: the right is gone (revoked,
expired, no right) → the PCE's state is updated and collection stops at once;
one broken gas day (``2000100``) → the cursor stays before it, so it is asked
again next cycle; no data (``1000008``) → nothing to collect. Objects that do not
map are dead-lettered with their reason; the rest of the stream is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from energy_core import topics
from energy_core.domain.ids import MeterScheme
from energy_core.domain.readings import Source
from energy_core.domain.time import PARIS
from energy_core.errors import EnergyError, PermanentError, TransientError
from energy_core.kafka import Publisher, PublishQueue
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.observability import meter_ref
from energy_core.wire import (
    CONSENT_EXPIRED,
    CONSENT_GRANTED,
    CONSENT_REVOKED,
    ReadingBatchMessage,
    batch_to_proto,
    consent_event,
    dead_letter,
)
from ingest_grdf import metrics
from ingest_grdf.client import AdictRefusedError, Parsed
from ingest_grdf.mapping import (
    AccessRight,
    Holder,
    Refused,
    RightState,
    declaration_body,
    map_contract,
    map_informatives,
    map_published,
    map_right,
)
from ingest_grdf.repository import GrdfRequest, Repository
from ingest_grdf.settings import Settings

SERVICE = "ingest-grdf"
log = logging.getLogger(SERVICE)

NO_DATA = "1000008"
PARTIAL = "2000100"
GONE = {
    "1000001": RightState.EXPIRED,
    "1000014": RightState.REVOKED,
    "1000011": RightState.REVOKED,  # GRDF revoked it: proofs missing or invalid
}
NO_RIGHT = "1000002"
REQUEST_STALE_S = 600.0
"""A request claimed this long ago by a worker that never finished it is taken again."""
REQUEST_BACKOFF = Backoff(base_s=30.0, max_s=3600.0)
"""A request that met ADICT down waits 30 s, 1 min, 2 min … up to an hour (or
GRDF's ``Retry-After``, e.g. the day's cap until Paris midnight)."""
REQUEST_MAX_ATTEMPTS = 12
"""After this many tries (about 8 h of backoff) the request fails, so the
person is told rather than kept waiting forever."""
PUBLISHED_SLIDING_DAYS = 200
"""Published periods (monthly, half-yearly) appear days after their end: the
daily cycle asks this far back again (a half-year and its lag)."""


class Adict(Protocol):
    """What the loop needs of the ADICT client (the fake of the unit tests too)."""

    async def declare(self, pce: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def rights(self, pces: list[str] | None = None) -> Parsed: ...
    async def revoke(self, right_id: str) -> None: ...
    async def upload_proofs(
        self, right_id: str, files: list[tuple[str, bytes, str]]
    ) -> None: ...
    async def informatives(self, pce: str, start: str, end: str) -> Parsed: ...
    async def published(self, pce: str, start: str, end: str) -> Parsed: ...
    async def injections(self, pce: str, start: str, end: str) -> Parsed: ...
    async def contractual(self, pce: str) -> dict[str, Any]: ...
    async def technical(self, pce: str) -> dict[str, Any]: ...


def _years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _chunks(first: date, after: date, days: int) -> Iterable[tuple[date, date]]:
    while first < after:
        end = min(after, first + timedelta(days=days))
        yield first, end
        first = end


class GrdfService:
    """Access rights and collection for every PCE SEN1 holds a right on."""

    def __init__(
        self,
        settings: Settings,
        client: Adict,
        publisher: Publisher,
        repository: Repository,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.client = client
        self.repository = repository
        self._clock = clock
        self._outbox = PublishQueue(publisher)
        self._publish_lock = asyncio.Lock()
        self._rights_checked_at: float | None = None
        self._collected_on: dict[str, date] = {}
        """PCE -> the Paris day its sliding window was last collected in full:
        ADICT publishes once a day, so a PCE is asked once a day (an hourly
        cycle asking 1,000 PCEs again would spend the daily cap in 3 hours)."""
        self.stop = asyncio.Event()

    def today(self) -> date:
        """The Paris date (ADICT's calendar)."""
        return self._clock().astimezone(PARIS).date()

    # -- access rights ---------------------------------------------------------

    async def declare(
        self,
        pce: str,
        holder: Holder,
        months: int = 36,
        *,
        data_from: date | None = None,
        data_until: date | None = None,
        right_end: date | None = None,
        scopes: frozenset[str] | None = None,
    ) -> AccessRight:
        """Declares a right on ``pce`` for ``holder``: by default every scope, the
        longest history ADICT serves (3 years back) and ``months`` ahead; a
        dashboard declaration gives its own scopes and windows."""
        today = self.today()
        until = right_end or today + timedelta(days=int(months * 30.44))
        body = declaration_body(
            holder,
            today,
            until,
            data_from=data_from or _years_back(today, self.settings.informative_years),
            data_until=min(data_until or until, until),
            scopes=scopes,
        )
        answer = await self.client.declare(pce, body)
        right = map_right(answer)
        await self.repository.save_right(right)
        self._rights_checked_at = None  # look at it again in the next cycle
        log.info(
            "right declared", extra={"meter": meter_ref(pce), "state": right.state}
        )
        return right

    async def revoke(self, pce: str) -> bool:
        """Revokes SEN1's right on ``pce`` (the resident withdrew); collection stops."""
        known = {str(r.pce): r for r in await self.repository.rights()}
        right = known.get(pce)
        if right is None or right.state not in (RightState.ACTIVE, RightState.PENDING):
            return False
        try:
            await self.client.revoke(right.right_id)
        except AdictRefusedError as exc:
            if exc.status != 409:  # 409: already revoked on GRDF's side
                raise
        await self._set_state(right, RightState.REVOKED, "revoked by SEN1")
        return True

    async def upload_proofs(
        self, pce: str, files: list[tuple[str, bytes, str]]
    ) -> None:
        """Sends the holder's proofs (PDF, PNG or JPEG, at most 3 of 4 MB) when GRDF
        asked for them; ADICT's refusal (409: not asked, too many, too big, wrong
        format) reaches the caller as :class:`AdictRefusedError` with its code."""
        known = {str(r.pce): r for r in await self.repository.rights()}
        right = known.get(pce)
        if right is None:
            raise LookupError("no GRDF right for this PCE")
        await self.client.upload_proofs(right.right_id, files)
        log.info("proofs sent", extra={"meter": meter_ref(pce), "files": len(files)})

    # -- what residents and property managers asked from the dashboard ------------

    async def handle_requests(self, limit: int = 100) -> int:
        """Runs the queued dashboard requests (``grdf_requests``, written by the
        api), oldest first, and records each outcome for the person who asked;
        GRDF's refusal (its code and message) is an outcome, not a failure."""
        handled = 0
        while handled < limit and not self.stop.is_set():
            request = await self.repository.claim_request(REQUEST_STALE_S)
            if request is None:
                break
            handled += 1
            ok, code, message = True, None, None
            try:
                await self._run_request(request)
            except AdictRefusedError as exc:
                ok, code, message = False, exc.code, exc.message
            except (LookupError, ValueError) as exc:
                ok, code, message = False, "sen1", str(exc)
            except TransientError as exc:
                # ADICT down (5xx, maintenance 503, a timeout) or the day's cap
                # spent: queued again after a backoff, unless tried too often
                if request.attempts < REQUEST_MAX_ATTEMPTS:
                    delay = max(
                        REQUEST_BACKOFF.delay(request.attempts),
                        exc.retry_after or 0.0,
                    )
                    await self.repository.defer_request(
                        request.request_id, delay, str(exc)
                    )
                    metrics.REQUESTS_HANDLED.labels(request.kind, "deferred").inc()
                    log.warning(
                        "request deferred",
                        extra={
                            "kind": request.kind,
                            "attempts": request.attempts,
                            "retry_in_s": round(delay),
                            "error": type(exc).__name__,
                        },
                    )
                    continue
                ok, code, message = False, "unavailable", str(exc)
            await self.repository.finish_request(
                request.request_id, ok=ok, code=code, message=message
            )
            metrics.REQUESTS_HANDLED.labels(
                request.kind, "done" if ok else "failed"
            ).inc()
            log.info(
                "request handled",
                extra={"kind": request.kind, "meter": meter_ref(request.pce), "ok": ok},
            )
        return handled

    async def _run_request(self, request: GrdfRequest) -> None:
        if request.kind == "declare":
            h = request.holder
            await self.declare(
                request.pce,
                Holder(
                    name=h.get("name"),
                    company=h.get("company"),
                    email=str(h["email"]),
                    postcode=str(h["postcode"]),
                ),
                data_from=request.data_from,
                data_until=request.data_until,
                right_end=request.right_end,
                scopes=None if request.scopes is None else frozenset(request.scopes),
            )
        elif request.kind == "revoke":
            await self.revoke(request.pce)
        elif request.kind == "proofs":
            files = await self.repository.request_files(request.request_id)
            await self.upload_proofs(request.pce, files)
            known = {str(r.pce): r for r in await self.repository.rights()}
            right = known.get(request.pce)
            if right is not None:  # GRDF checks them now
                await self.repository.save_right(replace(right, proof="checking"))
        else:
            raise ValueError(f"unknown request kind {request.kind!r}")

    async def check_rights(self) -> list[AccessRight]:
        """The daily check: ADICT's list mirrored, state changes published."""
        parsed = await self.client.rights()
        known = {str(r.pce): r for r in await self.repository.rights()}
        seen: list[AccessRight] = []
        for obj in parsed.objects:
            try:
                right = map_right(obj)
            except PermanentError as exc:
                await self._dead_letter("droits_acces", obj, exc)
                continue
            old = known.get(str(right.pce))
            if (
                old is not None
                and old.right_id != right.right_id
                and not _newer(right, old)
            ):
                continue  # an older right of the same PCE (e.g. revoked before)
            state = right.state
            if state is RightState.ACTIVE and right.end < self.today():
                state = RightState.EXPIRED
            await self._record(right, state, old)
            known[str(right.pce)] = right
            seen.append(right)
        for missing in parsed.broken:
            await self._dead_letter("droits_acces", missing, None, "unparseable line")
        await self._flush()
        counts: dict[str, int] = {s.value: 0 for s in RightState}
        proofs: dict[str, int] = dict.fromkeys(("requested", "checking", "ok", "ko"), 0)
        for r in known.values():
            counts[r.state.value] += 1
            if r.proof in proofs and r.state in (RightState.ACTIVE, RightState.PENDING):
                proofs[r.proof] += 1
        for state_name, count in counts.items():
            metrics.RIGHTS.labels(state_name).set(count)
        for proof, count in proofs.items():
            metrics.PROOFS.labels(proof).set(count)
        self._rights_checked_at = time.monotonic()
        return seen

    async def _record(
        self, right: AccessRight, state: RightState, old: AccessRight | None
    ) -> None:
        if state is not right.state:
            right = _with_state(right, state)
        await self.repository.save_right(right)
        if right.proof in ("requested", "ko") and (
            old is None or old.proof != right.proof
        ):
            log.warning(
                "proofs requested by GRDF",
                extra={
                    "meter": meter_ref(str(right.pce)),
                    "deadline": str(right.proof_deadline),
                },
            )
        if old is not None and old.state is state and old.right_id == right.right_id:
            return
        change = {
            RightState.ACTIVE: CONSENT_GRANTED,
            RightState.REVOKED: CONSENT_REVOKED,
            RightState.EXPIRED: CONSENT_EXPIRED,
            RightState.REFUSED: CONSENT_REVOKED,
        }.get(state)
        log.info(
            "right state", extra={"meter": meter_ref(str(right.pce)), "state": state}
        )
        consent_ids = [right.right_id]
        if state in (RightState.ACTIVE, RightState.REFUSED):
            # GRDF asked the holder: their answer decides SEN1's pending consents
            verification = "verified" if state is RightState.ACTIVE else "rejected"
            await self.repository.settle_consents(
                str(right.pce), verification, f"grdf:{state.value}", self._clock()
            )
        if state in (RightState.REVOKED, RightState.EXPIRED, RightState.REFUSED):
            # SEN1's own consents on the PCE end with GRDF's right: the api then
            # hides the data as it does for any revoked consent
            consent_ids += await self.repository.revoke_consents(
                str(right.pce), self._clock()
            )
        if change is None:
            return
        self._outbox.add(
            topics.CONSENT_EVENTS,
            str(right.pce),
            consent_event(
                meter=str(right.pce),
                scheme=MeterScheme.PCE,
                change=change,
                source=Source.GRDF_ADICT,
                occurred_at=self._clock(),
                consent_ids=consent_ids,
                reason=f"grdf {state.value}",
            ),
        )

    async def _set_state(self, right: AccessRight, state: RightState, why: str) -> None:
        await self._record(right, state, right)
        await self._flush()
        log.info(
            "collection stopped",
            extra={"meter": meter_ref(str(right.pce)), "reason": why},
        )

    # -- collection --------------------------------------------------------------

    async def run_cycle(self) -> int:
        """Rights if due, then every collectable PCE; readings published."""
        due = (
            self._rights_checked_at is None
            or time.monotonic() - self._rights_checked_at
            >= self.settings.rights_check_interval_s
        )
        if due:
            await self.check_rights()
        today = self.today()
        rights = [r for r in await self.repository.rights() if r.collectable(today)]
        pending = {
            str(r.pce)
            for r in rights
            if (await self.repository.cursor(str(r.pce))).informatives_until is None
        }
        metrics.BACKFILL_PCES_PENDING.set(len(pending))
        queue: asyncio.Queue[AccessRight] = asyncio.Queue()
        for right in rights:
            queue.put_nowait(right)
        published = 0

        async def worker() -> None:
            nonlocal published
            while not queue.empty() and not self.stop.is_set():
                right = queue.get_nowait()
                try:
                    done = await self.collect(right, today)
                    published += done  # read after the await: workers interleave
                except (
                    TransientError
                ) as exc:  # ridden out by the client: retry next cycle
                    log.warning(
                        "pce deferred",
                        extra={
                            "meter": meter_ref(str(right.pce)),
                            "error": type(exc).__name__,
                        },
                    )
                if str(right.pce) in pending:
                    pending.discard(str(right.pce))
                    metrics.BACKFILL_PCES_PENDING.set(len(pending))

        workers = min(self.settings.workers, max(queue.qsize(), 1))
        await asyncio.gather(*(worker() for _ in range(workers)))
        metrics.CYCLES.labels("done").inc()
        log.info(
            "cycle done",
            extra={
                "pces": len(rights),
                "readings": published,
                "backfills_left": len(pending),
            },
        )
        return published

    async def collect(self, right: AccessRight, today: date) -> int:
        """One PCE: informatives, published readings, contract data; readings published."""
        pce = str(right.pce)
        if self._collected_on.get(pce) == today:
            return 0
        cursor = await self.repository.cursor(pce)
        count = 0
        coefficient: float | None = None
        if right.informatives and not right.injection:  # no daily injection data
            start = _years_back(today, self.settings.informative_years)
            if cursor.informatives_until is not None:
                start = max(
                    start,
                    min(
                        cursor.informatives_until,
                        today - timedelta(days=self.settings.sliding_days),
                    ),
                )
            window = right.clamp(start, today)
            if window is not None:
                n, coefficient, stopped = await self._informatives(
                    right, *window, backfill=cursor.informatives_until is None
                )
                count += n
                if stopped:
                    return count
        if right.published:
            start = _years_back(today, self.settings.published_years)
            if cursor.published_until is not None:
                start = max(
                    start,
                    cursor.published_until - timedelta(days=PUBLISHED_SLIDING_DAYS),
                )
            window = right.clamp(start, today)
            if window is not None:
                n, stopped = await self._published(right, *window)
                count += n
                if stopped:
                    return count
        if cursor.informatives_until is None and (right.contractual or right.technical):
            await self._contract(right, coefficient)
        after = await self.repository.cursor(pce)
        if after.informatives_until is None or after.informatives_until >= today:
            self._collected_on[pce] = today  # else a held broken day: ask again
        return count

    async def _informatives(
        self, right: AccessRight, first: date, after: date, *, backfill: bool
    ) -> tuple[int, float | None, bool]:
        pce = str(right.pce)
        count = 0
        coefficient: float | None = None
        hold: date | None = None  # a broken gas day: the cursor stays before it
        for start, end in _chunks(first, after, self.settings.backfill_chunk_days):
            if self.stop.is_set():
                break
            parsed = await self._ask(pce, "informatives", start, end)
            if parsed is None:
                return count, coefficient, False
            # up to three years of gas days: mapped off the event loop so the
            # other workers' calls leave on their slots (see the client)
            batch, refused, invalid = await asyncio.to_thread(
                map_informatives, right.pce, parsed.objects, self._clock()
            )
            if await self._stopped_by(right, refused):
                return count, coefficient, True
            for obj, exc in invalid:
                await self._dead_letter("donnees_consos_informatives", obj, exc)
            for fragment in parsed.broken:
                await self._dead_letter(
                    "donnees_consos_informatives", fragment, None, "unparseable line"
                )
            if batch is not None:
                message = await asyncio.to_thread(batch_to_proto, batch)
                self._outbox.add(topics.READINGS, pce, message)
                count += len(batch.readings)
                for obj in reversed(parsed.objects):
                    conso = obj.get("consommation") or {}
                    coeff = (conso.get("coeff_calcul") or {}).get("coeff_conversion")
                    if isinstance(coeff, int | float):
                        coefficient = float(coeff)
                        break
            broken = [r.day for r in refused if r.code == PARTIAL and r.day is not None]
            hold = min([*broken, *([hold] if hold else [])], default=None)
            until = min(end, hold) if hold else end
            await self._flush()
            await self.repository.advance(pce, informatives_until=until)
            if backfill:
                metrics.BACKFILL_DAYS.inc((end - start).days)
                log.info(
                    "backfill step",
                    extra={
                        "meter": meter_ref(pce),
                        "until": end.isoformat(),
                        "readings": count,
                    },
                )
        return count, coefficient, False

    async def _published(
        self, right: AccessRight, first: date, after: date
    ) -> tuple[int, bool]:
        pce = str(right.pce)
        kind = "injections" if right.injection else "published"
        parsed = await self._ask(pce, kind, first, after)
        if parsed is None:
            return 0, False
        batch, refused, invalid = map_published(
            right.pce, parsed.objects, self._clock()
        )
        if await self._stopped_by(right, refused):
            return 0, True
        for obj, exc in invalid:
            await self._dead_letter("donnees_consos_publiees", obj, exc)
        count = 0
        if batch is not None:
            self._outbox.add(topics.READINGS, pce, batch_to_proto(batch))
            count = len(batch.readings)
        await self._flush()
        await self.repository.advance(pce, published_until=after)
        return count, False

    async def _ask(
        self, pce: str, kind: str, first: date, after: date
    ) -> Parsed | None:
        call = {
            "informatives": self.client.informatives,
            "published": self.client.published,
            "injections": self.client.injections,
        }[kind]
        try:
            return await call(pce, first.isoformat(), after.isoformat())
        except AdictRefusedError as exc:  # a 400 for this window: recorded, not retried
            await self._dead_letter(kind, {"pce": pce, "from": first.isoformat()}, exc)
            return None

    async def _stopped_by(self, right: AccessRight, refused: list[Refused]) -> bool:
        for r in refused:
            metrics.FUNCTIONAL_ERRORS.labels(r.code).inc()
        for r in refused:
            if r.code in GONE:
                await self._set_state(right, GONE[r.code], r.code)
                return True
            if r.code == NO_RIGHT:
                # no right (or not Active any more): ask the list before going on
                self._rights_checked_at = None
                return True
        return False

    async def _contract(self, right: AccessRight, coefficient: float | None) -> None:
        """Contract and technical data, each on its own: one refused keeps the other."""
        pce = str(right.pce)
        blocks: dict[str, dict[str, Any]] = {}
        for name, wanted, call in (
            ("donnees_contractuelles", right.contractual, self.client.contractual),
            ("donnees_techniques", right.technical, self.client.technical),
        ):
            if not wanted:
                continue
            try:
                blocks[name] = await call(pce)
            except AdictRefusedError as exc:
                await self._dead_letter(name, {"pce": pce}, exc)
        contract = map_contract(
            blocks.get("donnees_contractuelles", {}),
            blocks.get("donnees_techniques"),
            coefficient,
        )
        await self.repository.save_contract(pce, contract)
        await self._flush()

    # -- publishing ----------------------------------------------------------------

    async def _flush(self) -> None:
        async with self._publish_lock:
            records = await self._outbox.flush()
        readings = 0
        for spec, _, value in records:
            if spec is topics.READINGS and isinstance(value, ReadingBatchMessage):
                readings += len(value.readings)
        if readings:
            metrics.READINGS.inc(readings)

    async def _dead_letter(
        self, origin: str, payload: Any, error: Exception | None, reason: str = ""
    ) -> None:
        raw = (
            payload
            if isinstance(payload, str)
            else json.dumps(payload, ensure_ascii=False, default=str)
        )
        if error is not None:
            letter = dead_letter(
                service=SERVICE, origin=origin, payload=raw.encode(), error=error
            )
        else:
            letter = dead_letter(
                service=SERVICE,
                origin=origin,
                payload=raw.encode(),
                reason=reason,
                error_type="ParseError",
            )
        self._outbox.add(topics.DEAD_LETTERS, SERVICE, letter)
        metrics.DEAD_LETTERS.inc()
        log.warning(
            "dead letter",
            extra={
                "origin": origin,
                "error": type(error).__name__ if error else reason,
            },
        )


def _newer(new: AccessRight, old: AccessRight) -> bool:
    """Of two rights of one PCE, the one to follow: live before dead, then later start."""
    live = {RightState.ACTIVE, RightState.PENDING}
    if (new.state in live) != (old.state in live):
        return new.state in live
    return (new.start, new.right_id) >= (old.start, old.right_id)


def _with_state(right: AccessRight, state: RightState) -> AccessRight:
    return replace(right, state=state)


async def run_forever(
    service: GrdfService, stop: asyncio.Event, interval_s: float
) -> None:
    """Cycles until ``stop``; a failed cycle is logged and retried next time."""
    service.stop = stop
    while not stop.is_set():
        try:
            await service.run_cycle()
        except (EnergyError, OSError) as exc:
            metrics.CYCLES.labels("failed").inc()
            log.warning("cycle failed", extra={"error": type(exc).__name__})
        if await sleep_or_stop(stop, interval_s):
            return


async def serve_requests(
    service: GrdfService, stop: asyncio.Event, poll_s: float
) -> None:
    """The dashboard's requests every ``poll_s`` (seconds, not the hourly cycle:
    a person waits for the answer); a declaration makes the next cycle read the
    rights list again."""
    while not stop.is_set():
        try:
            await service.handle_requests()
        except (EnergyError, OSError) as exc:
            log.warning("requests failed", extra={"error": type(exc).__name__})
        if await sleep_or_stop(stop, poll_s):
            return
