"""An in-memory :class:`FluxLedger` for unit tests and the bench."""

from __future__ import annotations

from collections.abc import Sequence

from ingest_sge.mapping import C68Record
from ingest_sge.repository import FileRecord


class MemoryLedger:
    """The ledger in a dict keyed by (name, sha256)."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], FileRecord] = {}
        self.attempts: dict[tuple[str, int], int] = {}
        self.given_up: dict[tuple[str, int], str] = {}
        self.technical: dict[str, C68Record] = {}

    async def seen(self, name: str, size: int) -> bool:
        """A file of this name and size was handled (or given up) already."""
        if (name, size) in self.given_up:
            return True
        return any(r.name == name and r.size == size for r in self.files.values())

    async def handled(self, name: str, sha256: str) -> bool:
        """This exact file was handled already."""
        return (name, sha256) in self.files

    async def record(self, record: FileRecord) -> None:
        """Keeps the first record of a file (a replay changes nothing)."""
        self.files.setdefault((record.name, record.sha256), record)

    async def attempt(self, name: str, size: int, reason: str) -> int:
        """One more incomplete poll of (name, size); the count so far."""
        count = self.attempts.get((name, size), 0) + 1
        self.attempts[(name, size)] = count
        return count

    async def give_up(self, name: str, size: int, reason: str) -> None:
        """(name, size) is never asked again."""
        self.given_up[(name, size)] = reason

    async def save_technical(
        self, records: Sequence[C68Record], source_file: str
    ) -> None:
        """The latest record of each PRM wins."""
        for record in records:
            self.technical[str(record.prm)] = record

    async def ping(self) -> bool:
        """Always up."""
        return True
