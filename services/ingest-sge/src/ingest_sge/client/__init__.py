"""The SGE upstream: the SFTP drop of flux files and their crypto (no Kafka, no SQL)."""

from ingest_sge.client.crypto import (
    FluxArchiveError,
    FluxIncompleteError,
    FluxKey,
    FluxKeyError,
    check_archive,
    decrypt_file,
    iter_members,
    parse_keys,
)
from ingest_sge.client.sftp import (
    LocalFile,
    RemoteFile,
    SftpDrop,
    SftpTarget,
    sha256_of,
)

__all__ = [
    "FluxArchiveError",
    "FluxIncompleteError",
    "FluxKey",
    "FluxKeyError",
    "LocalFile",
    "RemoteFile",
    "SftpDrop",
    "SftpTarget",
    "check_archive",
    "decrypt_file",
    "iter_members",
    "parse_keys",
    "sha256_of",
]
