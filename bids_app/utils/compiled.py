"""Numba compilation of the few numeric kernels that NumPy cannot vectorise (sequential scans)."""

from __future__ import annotations

import os
import tempfile

import numba

#: Cache folder under the system's temporary folder, used where numba finds no writable folder of its own.
TEMPORARY_CACHE = "subseg-numba-cache"


def compiled(function):
    """``function`` compiled to machine code on first call, and cached on disk.

    The cache lives beside the module, in ``NUMBA_CACHE_DIR`` or in the user's cache folder, whichever numba
    can write; failing those (a read-only image run by a user without a home), in the temporary folder; and
    where even that is read-only, each process compiles the kernels again (about 12 s in all).
    """
    try:
        return numba.njit(cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        pass
    try:
        numba.config.CACHE_DIR = os.path.join(tempfile.gettempdir(), TEMPORARY_CACHE)
        return numba.njit(cache=True)(function)
    except (RuntimeError, OSError):
        return numba.njit(function)
