"""asyncpg implementation of the repository port (table ``grdf_rights``)."""

from __future__ import annotations

import json
from datetime import date, datetime

import asyncpg

from energy_core.domain.ids import Pce
from energy_store.consent_registry import (
    HeldByAnotherError,
    acting_as,
    decide,
    open_occupancy,
)
from ingest_grdf.mapping import AccessRight, GasContract, RightState
from ingest_grdf.repository import Cursor, GrdfRequest

GRDF_SOURCE = "grdf"
"""``consents.source`` of a consent given through a dashboard declaration."""

ACTOR = "ingest-grdf"
"""Who decides, for the consent audit trail (``sen1.actor``)."""

_SAVE = """
INSERT INTO grdf_rights AS g (meter_id, right_id, state, right_start, right_end,
                              data_from, data_until, injection, proof_status,
                              proof_deadline)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (meter_id) DO UPDATE SET
    injection = EXCLUDED.injection,
    proof_status = EXCLUDED.proof_status, proof_deadline = EXCLUDED.proof_deadline,
    right_id = EXCLUDED.right_id, state = EXCLUDED.state,
    right_start = EXCLUDED.right_start, right_end = EXCLUDED.right_end,
    data_from = EXCLUDED.data_from, data_until = EXCLUDED.data_until,
    -- a new right (another id) starts its history again
    informatives_until = CASE WHEN g.right_id = EXCLUDED.right_id
                              THEN g.informatives_until END,
    published_until = CASE WHEN g.right_id = EXCLUDED.right_id
                           THEN g.published_until END,
    updated_at = now()
"""


class PostgresRepository:
    """The port over one asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def save_right(self, right: AccessRight) -> None:
        await self._pool.execute(
            _SAVE,
            str(right.pce),
            right.right_id,
            right.state.value,
            right.start,
            right.end,
            right.data_from,
            right.data_until,
            right.injection,
            right.proof,
            right.proof_deadline,
        )

    async def rights(self) -> list[AccessRight]:
        rows = await self._pool.fetch(
            "SELECT meter_id, right_id, state, right_start, right_end, data_from,"
            " data_until, injection, proof_status, proof_deadline FROM grdf_rights"
            " ORDER BY meter_id"
        )
        # scopes are not stored: SEN1 declares every scope, and the daily check
        # refreshes the full right from ADICT before any collection
        return [
            AccessRight(
                right_id=r["right_id"],
                pce=Pce(r["meter_id"]),
                state=RightState(r["state"]),
                start=r["right_start"],
                end=r["right_end"],
                data_from=r["data_from"],
                data_until=r["data_until"],
                informatives=True,
                published=True,
                contractual=True,
                technical=True,
                injection=r["injection"],
                proof=r["proof_status"],
                proof_deadline=r["proof_deadline"],
            )
            for r in rows
        ]

    async def cursor(self, pce: str) -> Cursor:
        row = await self._pool.fetchrow(
            "SELECT informatives_until, published_until FROM grdf_rights"
            " WHERE meter_id = $1",
            pce,
        )
        if row is None:
            return Cursor(None, None)
        return Cursor(row["informatives_until"], row["published_until"])

    async def advance(
        self,
        pce: str,
        *,
        informatives_until: date | None = None,
        published_until: date | None = None,
    ) -> None:
        await self._pool.execute(
            "UPDATE grdf_rights SET"
            " informatives_until = GREATEST(informatives_until, $2),"
            " published_until = GREATEST(published_until, $3), updated_at = now()"
            " WHERE meter_id = $1",
            pce,
            informatives_until,
            published_until,
        )

    async def save_contract(self, pce: str, contract: GasContract) -> None:
        await self._pool.execute(
            "UPDATE grdf_rights SET tariff_option = $2, car_kwh = $3, profile = $4,"
            " frequency = $5,"
            " conversion_coefficient = COALESCE($6, conversion_coefficient),"
            " updated_at = now() WHERE meter_id = $1",
            pce,
            contract.tariff_option,
            contract.car_kwh,
            contract.profile,
            contract.frequency,
            contract.conversion_coefficient,
        )

    async def revoke_consents(self, pce: str, at: datetime) -> list[str]:
        rows = await self._pool.fetch(
            "UPDATE consents SET revoked_at = greatest($2, starts_at)"
            " WHERE meter_id = $1 AND revoked_at IS NULL RETURNING consent_id",
            pce,
            at,
        )
        return [str(r["consent_id"]) for r in rows]

    async def settle_consents(
        self, pce: str, verification: str, reason: str, at: datetime
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT consent_id, person_id, source,"
                " coalesce(data_from, starts_at) AS occupied_from FROM consents"
                " WHERE meter_id = $1 AND verification = 'pending'"
                " AND revoked_at IS NULL",
                pce,
            )
            for row in rows:
                consent_id = str(row["consent_id"])
                async with conn.transaction():
                    await acting_as(conn, ACTOR)
                    try:
                        async with conn.transaction():
                            await decide(
                                conn,
                                consent_id=consent_id,
                                verification=verification,
                                by=ACTOR,
                                reason=reason,
                                now=at,
                            )
                            if (
                                verification == "verified"
                                and row["source"] == GRDF_SOURCE
                            ):
                                # the holder accepted what this person declared:
                                # they hold the PCE over the window GRDF approved
                                await open_occupancy(
                                    conn,
                                    person_id=str(row["person_id"]),
                                    delivery_point_id=pce,
                                    starts_at=row["occupied_from"],
                                    source="grdf-right",
                                )
                        out[consent_id] = verification
                    except HeldByAnotherError:
                        await decide(
                            conn,
                            consent_id=consent_id,
                            verification="to_verify",
                            by=ACTOR,
                            reason="held_by_another",
                            now=at,
                        )
                        out[consent_id] = "to_verify"
        return out

    # -- the dashboard's requests (grdf_requests, written by the api) ------------

    async def claim_request(self, stale_after_s: float) -> GrdfRequest | None:
        row = await self._pool.fetchrow(
            """UPDATE grdf_requests SET status = 'claimed', claimed_at = now(),
                   attempts = attempts + 1
               WHERE request_id = (
                   SELECT request_id FROM grdf_requests
                   WHERE (status = 'queued'
                          AND (retry_at IS NULL OR retry_at <= now()))
                      OR (status = 'claimed'
                          AND claimed_at < now() - make_interval(secs => $1))
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
               RETURNING request_id, kind, meter_id, holder, scopes, data_from,
                         data_until, right_end, attempts""",
            stale_after_s,
        )
        if row is None:
            return None
        return GrdfRequest(
            request_id=str(row["request_id"]),
            kind=row["kind"],
            pce=row["meter_id"],
            holder=json.loads(row["holder"]) if row["holder"] else {},
            scopes=json.loads(row["scopes"]) if row["scopes"] else None,
            data_from=row["data_from"],
            data_until=row["data_until"],
            right_end=row["right_end"],
            attempts=row["attempts"],
        )

    async def defer_request(self, request_id: str, delay_s: float, reason: str) -> None:
        await self._pool.execute(
            "UPDATE grdf_requests SET status = 'queued', claimed_at = NULL,"
            " retry_at = now() + make_interval(secs => $2), error_message = $3"
            " WHERE request_id = $1::uuid",
            request_id,
            delay_s,
            reason,
        )

    async def request_files(self, request_id: str) -> list[tuple[str, bytes, str]]:
        rows = await self._pool.fetch(
            "SELECT filename, data, content_type FROM grdf_request_files"
            " WHERE request_id = $1::uuid ORDER BY position",
            request_id,
        )
        return [(r["filename"], bytes(r["data"]), r["content_type"]) for r in rows]

    async def finish_request(
        self, request_id: str, *, ok: bool, code: str | None, message: str | None
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE grdf_requests SET status = $2, error_code = $3,"
                " error_message = $4, done_at = now(), retry_at = NULL"
                " WHERE request_id = $1::uuid",
                request_id,
                "done" if ok else "failed",
                code,
                message,
            )
            await conn.execute(
                "DELETE FROM grdf_request_files WHERE request_id = $1::uuid",
                request_id,
            )

    # -- the application's quota, shared by every process (QuotaStore) -----------

    async def take(
        self, day: date, cap: int, spacing_s: float
    ) -> tuple[int, float] | None:
        row = await self._pool.fetchrow(
            """INSERT INTO grdf_quota AS q (day, used, next_at)
               VALUES ($1, 1, clock_timestamp() + make_interval(secs => $3))
               ON CONFLICT (day) DO UPDATE SET used = q.used + 1,
                   next_at = greatest(q.next_at, clock_timestamp())
                             + make_interval(secs => $3)
               WHERE q.used < $2
               RETURNING used, extract(epoch FROM next_at - clock_timestamp())::float8
                               - $3 AS wait_s""",
            day,
            cap,
            spacing_s,
        )
        if row is None:
            return None
        return int(row["used"]), float(row["wait_s"])

    async def hold(self, day: date, seconds: float) -> None:
        await self._pool.execute(
            "UPDATE grdf_quota SET next_at = greatest(next_at,"
            " clock_timestamp() + make_interval(secs => $2)) WHERE day = $1",
            day,
            seconds,
        )

    async def ping(self) -> bool:
        try:
            await self._pool.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError):
            return False
        return True
