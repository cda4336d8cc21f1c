"""The loop: poll the SFTP drop -> decrypt -> unzip -> parse (streamed) -> publish.

Each poll lists the drop, skips what the ledger has handled (by name and size),
downloads the rest one at a time and handles each file exactly once:

1. download to a temporary name, compare the size with the listing (the client);
2. a file whose bytes were handled already (name + SHA-256) is a replay: nothing
   is published, nothing recorded again;
3. decrypt with the configured keys and open the ZIP; no key, or an unreadable
   archive, dead-letters the FILE with the reason and records it ``dead`` (a
   wrong key is never a silent skip); a file found incomplete (size differing
   from the listing, a key opening it but its end missing, a ZIP without its
   end) is left for the next poll, but each such poll is counted per (name,
   size) and at ``max_attempts`` the file is given up: dead-lettered with the
   reason, counted, and never asked again (a stuck file is neither retried
   forever nor skipped silently);
4. stream its records through the mapping (XML flux by their root, bulk-order
   results R63/R64/C68 by their name, JSON or CSV); a record that cannot be mapped is
   dead-lettered alone; batches are flushed to the broker every
   ``publish_every_records`` records, so memory stays bounded;
5. flush, then record the file ``done``. A crash before the record replays the
   file at the next poll: at-least-once, and every sink is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from prometheus_client import Counter, Gauge

from energy_core import topics
from energy_core.domain import RowsBatch
from energy_core.errors import EnergyError, PermanentError, TransientError
from energy_core.kafka import Publisher, PublishQueue
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.wire import batch_to_proto, dead_letter, rows_to_proto
from ingest_sge.client import (
    FluxKey,
    LocalFile,
    RemoteFile,
    check_archive,
    decrypt_file,
    iter_members,
)
from ingest_sge.mapping import (
    Ambiguous,
    C68Record,
    FluxStats,
    Rejected,
    parse_member,
)
from ingest_sge.repository import FileRecord, FluxLedger, Outcome

logger = logging.getLogger(__name__)
SERVICE = "ingest-sge"

FILES = Counter(
    "ingest_sge_files_total",
    "Flux files by outcome (done, dead, replayed, incomplete)",
    ["outcome"],
)
READINGS = Counter("ingest_sge_readings_published_total", "Readings published")
BATCHES = Counter("ingest_sge_batches_published_total", "ReadingBatch records")
DEAD = Counter(
    "ingest_sge_dead_letters_total", "Dead letters (whole files or records)", ["what"]
)
SKIPPED = Counter(
    "ingest_sge_skipped_values_total", "Values of flux files not mapped", ["reason"]
)
GIVEN_UP = Counter(
    "ingest_sge_files_given_up_total",
    "Flux files found incomplete max_attempts times, dead-lettered and not asked again",
)
TECHNICAL = Counter(
    "ingest_sge_technical_records_total",
    "C68 technical and contractual records stored (table sge_technical_data)",
)
POLLS = Counter("ingest_sge_polls_total", "Polls of the SFTP drop", ["outcome"])
PENDING = Gauge(
    "ingest_sge_files_pending", "Files listed at the last poll and not handled yet"
)
LAST_FILE = Gauge(
    "ingest_sge_last_file_handled_timestamp_seconds",
    "Wall time at which the last flux file was handled (done or dead)",
)


class Drop(Protocol):
    """Port of the SFTP drop as the loop uses it (see ``client.SftpDrop``)."""

    async def list(self) -> list[RemoteFile]:
        """The flux files offered."""

    async def download(self, remote: RemoteFile) -> LocalFile:
        """A whole local copy of one file (size checked)."""


DropFactory = Callable[[], AbstractAsyncContextManager[Drop]]


@dataclass(slots=True)
class FileResult:
    """What handling one file did (returned for tests, logs and the bench)."""

    name: str
    outcome: str
    records: int = 0
    readings: int = 0
    rejected: int = 0
    technical: int = 0
    attempts: int = 0
    key_id: str = ""
    reason: str = ""
    skipped: dict[str, int] = field(default_factory=dict)


class FluxCollector:
    """SFTP flux files in, ReadingBatch records out (see the module docstring)."""

    def __init__(
        self,
        publisher: Publisher,
        ledger: FluxLedger,
        keys: tuple[FluxKey, ...],
        *,
        drop: DropFactory | None = None,
        spool: Path,
        publish_every_records: int = 500,
        ambiguous: Ambiguous = Ambiguous.EARLIER,
        settle_s: float = 0.0,
        max_attempts: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._outbox = PublishQueue(publisher)
        self._ledger = ledger
        self._keys = keys
        self._drop = drop
        self._spool = spool
        self._every = publish_every_records
        self._ambiguous = ambiguous
        self._settle_s = settle_s
        self._max_attempts = max_attempts
        self._clock = clock
        spool.mkdir(parents=True, exist_ok=True)

    async def poll_once(self) -> list[FileResult]:
        """One pass over the drop; raises TransientError when it is unreachable."""
        if self._drop is None:
            raise RuntimeError("no drop configured")
        results: list[FileResult] = []
        async with self._drop() as drop:
            listed = await drop.list()
            now = self._clock()
            todo = [
                f
                for f in listed
                if now - f.mtime >= self._settle_s
                and not await self._ledger.seen(f.name, f.size)
            ]
            PENDING.set(len(todo))
            for remote in todo:
                try:
                    local = await drop.download(remote)
                except TransientError as exc:
                    results.append(
                        await self._incomplete(remote.name, remote.size, str(exc))
                    )
                    continue
                results.append(await self.handle(local))
                PENDING.dec()
        return results

    async def handle(self, local: LocalFile) -> FileResult:
        """Handles one downloaded file exactly once (see the module docstring)."""
        try:
            if await self._ledger.handled(local.name, local.sha256):
                FILES.labels("replayed").inc()
                local.path.unlink(missing_ok=True)
                return FileResult(local.name, "replayed")
            result = await self._handle_new(local)
        except TransientError as exc:
            return await self._incomplete(local.name, local.size, str(exc), local)
        LAST_FILE.set(self._clock())
        return result

    async def _incomplete(
        self, name: str, size: int, reason: str, local: LocalFile | None = None
    ) -> FileResult:
        """A file found incomplete: asked again at the next poll, until the
        ``max_attempts``-th time, when it is given up (see the module docstring)."""
        attempts = await self._ledger.attempt(name, size, reason)
        FILES.labels("incomplete").inc()
        if attempts < self._max_attempts:
            logger.warning(
                "flux file incomplete, asked again at the next poll",
                extra={"attempts": attempts, "max_attempts": self._max_attempts},
            )
            if local is not None:
                local.path.unlink(missing_ok=True)
            return FileResult(name, "incomplete", reason=reason, attempts=attempts)
        why = f"incomplete at {attempts} polls, given up: {reason}"
        GIVEN_UP.inc()
        DEAD.labels("file").inc()
        FILES.labels(Outcome.DEAD.value).inc()
        logger.error("flux file given up", extra={"attempts": attempts})
        described = f"{name} size={size}"
        if local is not None:
            described += f" sha256={local.sha256}"
        self._outbox.add(
            topics.DEAD_LETTERS,
            SERVICE,
            dead_letter(
                service=SERVICE,
                origin=f"sftp:{name}",
                payload=described.encode(),
                reason=why,
                error_type="FluxIncompleteError",
            ),
        )
        await self._outbox.flush()
        await self._ledger.give_up(name, size, why)
        if local is not None:
            dead = self._spool / "dead"
            dead.mkdir(exist_ok=True)
            local.path.replace(dead / f"{local.sha256[:12]}-{local.name}")
        LAST_FILE.set(self._clock())
        return FileResult(name, Outcome.DEAD.value, reason=why, attempts=attempts)

    async def _handle_new(self, local: LocalFile) -> FileResult:
        result = FileResult(local.name, Outcome.DONE.value)
        work = Path(tempfile.mkdtemp(prefix="flux-", dir=self._spool))
        try:
            archive = work / "flux.zip"
            try:
                result.key_id = decrypt_file(local.path, archive, self._keys)
                check_archive(archive)
                await self._publish_members(local, archive, result)
            except PermanentError as exc:
                await self._dead_file(local, result, exc)
                return result
            await self._outbox.flush()
            await self._ledger.record(self._record(local, result))
            local.path.unlink(missing_ok=True)
            FILES.labels(Outcome.DONE.value).inc()
            logger.info(
                "flux file handled",
                extra={
                    "flux_records": result.records,
                    "readings": result.readings,
                    "rejected": result.rejected,
                    "key_id": result.key_id,
                },
            )
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def _publish_members(
        self, local: LocalFile, archive: Path, result: FileResult
    ) -> None:
        since_flush = 0
        technical: list[C68Record] = []
        for member, stream in iter_members(archive):
            stats = FluxStats()
            origin = f"{local.name}:{member}"
            items = parse_member(
                stream,
                file_name=local.name,
                member=member,
                ambiguous=self._ambiguous,
                stats=stats,
            )
            for item in items:
                if isinstance(item, C68Record):
                    # C68: kept per PRM in the store, not a reading
                    technical.append(item)
                    result.technical += 1
                    TECHNICAL.inc()
                elif isinstance(item, Rejected):
                    result.rejected += 1
                    DEAD.labels("record").inc()
                    self._outbox.add(
                        topics.DEAD_LETTERS,
                        SERVICE,
                        dead_letter(
                            service=SERVICE,
                            origin=origin,
                            payload=item.payload,
                            error=item.error,
                        ),
                    )
                elif isinstance(item, RowsBatch):
                    # the bulk path: rows straight to the wire record
                    count = item.count
                    if count:
                        self._outbox.add(
                            topics.READINGS, item.meter, rows_to_proto(item)
                        )
                        result.readings += count
                        READINGS.inc(count)
                        BATCHES.inc()
                elif item.readings:
                    self._outbox.add(topics.READINGS, item.meter, batch_to_proto(item))
                    result.readings += len(item.readings)
                    READINGS.inc(len(item.readings))
                    BATCHES.inc()
                since_flush += 1
                if since_flush >= self._every:
                    await self._outbox.flush()
                    await self._save_technical(technical, local.name)
                    since_flush = 0
            await self._save_technical(technical, local.name)
            result.records += stats.records
            for reason, count in stats.skipped.items():
                SKIPPED.labels(reason).inc(count)
                result.skipped[reason] = result.skipped.get(reason, 0) + count

    async def _save_technical(self, records: list[C68Record], name: str) -> None:
        """Stores the C68 records held so far and empties the list (bounded)."""
        if records:
            await self._ledger.save_technical(records, name)
            records.clear()

    async def _dead_file(
        self, local: LocalFile, result: FileResult, exc: EnergyError
    ) -> None:
        """Dead-letters a whole file: the letter names it, the bytes stay in dead/."""
        result.outcome = Outcome.DEAD.value
        result.reason = str(exc)
        DEAD.labels("file").inc()
        FILES.labels(Outcome.DEAD.value).inc()
        logger.error("flux file dead-lettered: %s", type(exc).__name__)
        self._outbox.add(
            topics.DEAD_LETTERS,
            SERVICE,
            dead_letter(
                service=SERVICE,
                origin=f"sftp:{local.name}",
                payload=f"{local.name} sha256={local.sha256}".encode(),
                error=exc,
            ),
        )
        await self._outbox.flush()
        await self._ledger.record(self._record(local, result))
        dead = self._spool / "dead"
        dead.mkdir(exist_ok=True)
        local.path.replace(dead / f"{local.sha256[:12]}-{local.name}")

    @staticmethod
    def _record(local: LocalFile, result: FileResult) -> FileRecord:
        return FileRecord(
            name=local.name,
            sha256=local.sha256,
            size=local.size,
            outcome=Outcome(result.outcome),
            key_id=result.key_id,
            records=result.records,
            readings=result.readings,
            reason=result.reason,
        )


async def run_forever(
    collector: FluxCollector, stop: asyncio.Event, interval_s: float, backoff: Backoff
) -> None:
    """Polls every ``interval_s`` until ``stop``; an unreachable drop or broker
    is retried with backoff, never a crash."""
    failures = 0
    while not stop.is_set():
        try:
            await collector.poll_once()
            POLLS.labels("ok").inc()
            failures = 0
            wait = interval_s
        except TransientError as exc:
            POLLS.labels("unavailable").inc()
            failures += 1
            wait = backoff.delay(failures, retry_after=exc.retry_after)
            logger.warning("SGE drop poll failed: %s", type(exc).__name__)
        except Exception:
            POLLS.labels("error").inc()
            failures += 1
            wait = backoff.delay(failures)
            logger.exception("SGE drop poll failed unexpectedly")
        if await sleep_or_stop(stop, wait):
            return
