"""The subscriber's SFTP drop: list the flux files, download them safely.

A file is downloaded to ``<name>.part`` in the spool folder, its size compared
with the size the server announced, and only then renamed: a download cut in the
middle (or a file the server is still writing) never looks like a whole file.
Connection failures are :class:`UpstreamUnavailableError` (retried at the next
poll with backoff); nothing here knows Kafka or SQL.
"""

from __future__ import annotations

import builtins
import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from energy_core.errors import UpstreamUnavailableError

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file of the drop as listed: name, size, modification time, and the
    sub-folder it is in (``""`` = the drop's folder)."""

    name: str
    size: int
    mtime: int
    folder: str = ""


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A downloaded file whose size matched the listing, with its SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class SftpTarget:
    """Where the drop is and how to log in (a key, a password, or both)."""

    host: str
    port: int
    username: str
    password: str | None
    client_key: Path | None
    known_hosts: Path | None
    remote_dir: str
    patterns: tuple[str, ...]
    timeout_s: float = 30.0
    bulk_dir: str = ""
    """Sub-folder of bulk-order results (``R63_R64_R65_R66_R67_C68``); ``""`` = none."""
    bulk_patterns: tuple[str, ...] = ()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (files of any size)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class SftpDrop:
    """One connection per poll to the drop (SGE drops are polled, not streamed)."""

    def __init__(self, target: SftpTarget, spool: Path) -> None:
        self.target = target
        self.spool = spool
        spool.mkdir(parents=True, exist_ok=True)
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    async def __aenter__(self) -> SftpDrop:
        t = self.target
        try:
            self._conn = await asyncssh.connect(
                t.host,
                t.port,
                username=t.username,
                password=t.password,
                client_keys=[str(t.client_key)] if t.client_key else None,
                known_hosts=str(t.known_hosts) if t.known_hosts else None,
                connect_timeout=t.timeout_s,
            )
            self._sftp = await self._conn.start_sftp_client()
        except (OSError, asyncssh.Error) as exc:
            await self.close()
            raise UpstreamUnavailableError(
                f"SFTP drop unreachable: {type(exc).__name__}"
            ) from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the SFTP session and the SSH connection."""
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None

    def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise RuntimeError("SftpDrop used outside 'async with'")
        return self._sftp

    async def list(self) -> list[RemoteFile]:
        """Regular files matching the patterns: the drop's folder, then the
        bulk-order folder (absent until SGE has delivered a first order)."""
        t = self.target
        out = await self._list_folder("", t.patterns)
        if t.bulk_dir and t.bulk_patterns:
            out += await self._list_folder(t.bulk_dir, t.bulk_patterns, optional=True)
        return out

    def _path(self, folder: str, name: str = "") -> str:
        parts = [self.target.remote_dir.rstrip("/")]
        if folder:
            parts.append(folder.strip("/"))
        if name:
            parts.append(name)
        return "/".join(parts) or "/"

    async def _list_folder(
        self, folder: str, patterns: tuple[str, ...], *, optional: bool = False
    ) -> builtins.list[RemoteFile]:
        client = self._client()
        try:
            if optional and not await client.isdir(self._path(folder)):
                return []
            entries = await client.readdir(self._path(folder))
        except (OSError, asyncssh.Error) as exc:
            raise UpstreamUnavailableError(
                f"SFTP listing failed: {type(exc).__name__}"
            ) from exc
        out = []
        for entry in entries:
            name = str(entry.filename)
            attrs = entry.attrs
            if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR and attrs.type is not None:
                continue
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            out.append(
                RemoteFile(name, int(attrs.size or 0), int(attrs.mtime or 0), folder)
            )
        return sorted(out, key=lambda f: f.name)

    async def download(self, remote: RemoteFile) -> LocalFile:
        """Downloads to ``.part``, checks the size, renames; returns the local file.

        A size different from the listing (cut transfer, file still growing) is
        an :class:`UpstreamUnavailableError`: the partial file is removed and the
        file is asked again at the next poll.
        """
        part = self.spool / f"{remote.name}.part"
        final = self.spool / remote.name
        path = self._path(remote.folder, remote.name)
        try:
            await self._client().get(path, str(part))
        except (OSError, asyncssh.Error) as exc:
            part.unlink(missing_ok=True)
            raise UpstreamUnavailableError(
                f"SFTP download failed: {type(exc).__name__}"
            ) from exc
        size = part.stat().st_size
        if size != remote.size:
            part.unlink(missing_ok=True)
            raise UpstreamUnavailableError(
                f"{remote.name}: {size} bytes received, {remote.size} announced"
            )
        os.replace(part, final)
        return LocalFile(remote.name, final, size, sha256_of(final))
