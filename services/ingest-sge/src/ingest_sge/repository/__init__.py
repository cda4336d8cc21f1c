"""The port of ingest-sge's SQL: the ledger of flux files already handled.

A file is identified by its name and the SHA-256 of its bytes: the same file
replayed (same name, same bytes) is handled once; a file republished under the
same name with other bytes (a correction) is handled again. ``seen`` answers
from the listing alone (name and size) so that a drop keeping old files is not
downloaded again at every poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ingest_sge.mapping import C68Record


class Outcome(StrEnum):
    """How a file ended: its readings published, or dead-lettered with a reason."""

    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One handled file as the ledger keeps it."""

    name: str
    sha256: str
    size: int
    outcome: Outcome
    key_id: str
    records: int
    readings: int
    reason: str = ""


class FluxLedger(Protocol):
    """Port: which flux files are handled (asyncpg in production, memory in tests)."""

    async def seen(self, name: str, size: int) -> bool:
        """A file of this name and size was handled (or given up) already."""

    async def handled(self, name: str, sha256: str) -> bool:
        """This exact file (name and bytes) was handled already."""

    async def record(self, record: FileRecord) -> None:
        """Marks a file handled (idempotent on name and checksum)."""

    async def attempt(self, name: str, size: int, reason: str) -> int:
        """Counts one poll at which this file (name, size) was found incomplete;
        returns the count so far, this one included."""

    async def give_up(self, name: str, size: int, reason: str) -> None:
        """Marks this file (name, size) given up: ``seen`` answers True from now on."""

    async def save_technical(
        self, records: Sequence[C68Record], source_file: str
    ) -> None:
        """Keeps the latest C68 technical data of each PRM (upsert)."""

    async def ping(self) -> bool:
        """The store answers (readiness)."""


__all__ = ["FileRecord", "FluxLedger", "Outcome"]
