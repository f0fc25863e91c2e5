"""Numba compilation of the few numeric kernels that NumPy cannot vectorise (sequential scans)."""

from __future__ import annotations

import numba


def compiled(function):
    """``function`` compiled to machine code on first call, cached on disk where numba finds a writable folder.

    The cache lives beside the module (or in ``NUMBA_CACHE_DIR``, or the user's cache folder); where none is
    writable (a read-only image run by a user without a home), each process compiles once instead.
    """
    try:
        return numba.njit(cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(function)
