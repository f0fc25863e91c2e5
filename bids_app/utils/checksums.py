"""Checksums of files, read in blocks: SHA-256, and git's object id of a file."""

from __future__ import annotations

import hashlib
import os


def sha256_of(*paths: str | os.PathLike) -> str:
    """Hex SHA-256 of the files' contents, one after the other (one file: its usual checksum)."""
    digest = hashlib.sha256()
    for path in paths:
        _read_into(digest, path)
    return digest.hexdigest()


def git_blob_id(path: str | os.PathLike) -> str:
    """Git's object id of the file (SHA-1 of ``blob <size>\\0`` and its bytes), as ``git hash-object`` prints.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as handle:
    ...     _ = handle.write(b"hello\\n"); handle.flush(); git_blob_id(handle.name)
    'ce013625030ba8dba906f756967f9e9ca394464a'
    """
    return _read_into(hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode()), path).hexdigest()


def _read_into(digest, path: str | os.PathLike):
    """Feed the file's bytes to ``digest`` in 1 MiB blocks; return ``digest``."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest
