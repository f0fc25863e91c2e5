"""Compiled kernels: cached where numba can write, and still compiled where it cannot."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba.core import caching

from bids_app.utils.compiled import compiled


def _running_sum(values):
    total, out = 0.0, np.empty(len(values))
    for index in range(len(values)):
        total += values[index]
        out[index] = total
    return out


def test_compiles_and_caches_where_a_cache_folder_is_writable():
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
    assert kernel._cache._impl.locator is not None


def test_compiles_in_memory_where_no_cache_folder_is_writable(monkeypatch):
    """A read-only image run by a user without a home: every numba cache locator fails."""
    def read_only(self):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", read_only)
    monkeypatch.setattr(caching._SourceFileBackedLocatorMixin, "ensure_cache_path", read_only, raising=False)
    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(_running_sum)
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
