"""An in-memory :class:`FluxLedger` for unit tests and the bench."""

from __future__ import annotations

from ingest_sge.repository import FileRecord


class MemoryLedger:
    """The ledger in a dict keyed by (name, sha256)."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], FileRecord] = {}

    async def seen(self, name: str, size: int) -> bool:
        """A file of this name and size was handled already."""
        return any(r.name == name and r.size == size for r in self.files.values())

    async def handled(self, name: str, sha256: str) -> bool:
        """This exact file was handled already."""
        return (name, sha256) in self.files

    async def record(self, record: FileRecord) -> None:
        """Keeps the first record of a file (a replay changes nothing)."""
        self.files.setdefault((record.name, record.sha256), record)

    async def ping(self) -> bool:
        """Always up."""
        return True
