"""Fail before any work when an output or work folder cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SubsegError


class OutputError(SubsegError):
    """The output folder cannot be written."""


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and make sure files can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".subseg-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise OutputError(f"{folder}: cannot write there ({error.strerror or error})") from None
