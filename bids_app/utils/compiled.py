"""Numba compilation of the few numeric kernels that NumPy cannot vectorise (sequential scans)."""

from __future__ import annotations

import os
import stat
import tempfile

import numba

#: Cache folder under the system's temporary folder (suffixed with the user id), used where numba finds no
#: writable folder of its own.
TEMPORARY_CACHE = "subseg-numba-cache"


def compiled(function):
    """``function`` compiled to machine code on first call, and cached on disk.

    The cache lives beside the module, in ``NUMBA_CACHE_DIR`` or in the user's cache folder, whichever numba
    can write; failing those (a read-only image run by a user without a home), in a folder of the temporary
    folder that only this user can write; and where even that cannot be had, each process compiles the
    kernels again (about 12 s in all).
    """
    try:
        return numba.njit(cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        pass
    folder = private_temporary_folder()
    if folder is not None:
        try:
            numba.config.CACHE_DIR = folder
            return numba.njit(cache=True)(function)
        except (RuntimeError, OSError):
            pass
    return numba.njit(function)


def private_temporary_folder() -> str | None:
    """``<tmp>/subseg-numba-cache-<uid>``, created if need be; None unless it is a folder of this user that
    nobody else can write.

    The cache holds pickles that numba loads and runs: a folder that another user of a shared machine made
    or can write (in a world-writable temporary folder) must not be read from.
    """
    user = os.getuid()
    folder = os.path.join(tempfile.gettempdir(), f"{TEMPORARY_CACHE}-{user}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        status = os.lstat(folder)
    except OSError:
        return None
    private = status.st_uid == user and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return folder if stat.S_ISDIR(status.st_mode) and private else None
