"""Checksums of files, read in blocks: SHA-256, and git's object id of a file."""

from __future__ import annotations

import hashlib
import os


def sha256_of(*paths: str | os.PathLike) -> str:
    """Hex SHA-256 of the files' contents, one after the other (one file: its usual checksum)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def git_blob_id(path: str | os.PathLike) -> str:
    """Git's object id of the file (SHA-1 of ``blob <size>\\0`` and its bytes), as ``git hash-object`` prints.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as handle:
    ...     _ = handle.write(b"hello\\n"); handle.flush(); git_blob_id(handle.name)
    'ce013625030ba8dba906f756967f9e9ca394464a'
    """
    digest = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
