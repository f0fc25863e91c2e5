"""SHA-256 checksums of files, read in blocks."""

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
