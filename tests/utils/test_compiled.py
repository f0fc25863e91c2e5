"""Compiled kernels: cached where numba can write, and still compiled where it cannot."""

from __future__ import annotations

import tempfile

import numba
import numpy as np
import pytest
from numba.core import caching

from bids_app.utils.compiled import TEMPORARY_CACHE, compiled


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


def test_caches_in_the_temporary_folder_where_numba_has_no_writable_folder(monkeypatch, tmp_path):
    """Read-only package and no writable home: the cache goes to the temporary folder."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(caching.InTreeCacheLocator, "from_function", classmethod(lambda cls, *args: None))
    monkeypatch.setattr(caching.UserWideCacheLocator, "from_function", classmethod(lambda cls, *args: None))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
    assert kernel._cache._impl.locator.get_cache_path().startswith(str(tmp_path / TEMPORARY_CACHE))


def test_compiles_in_memory_where_no_cache_folder_is_writable(monkeypatch):
    """A read-only image run by a user without a home: every numba cache locator fails."""
    def read_only(self):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", read_only)
    monkeypatch.setattr(caching._SourceFileBackedLocatorMixin, "ensure_cache_path", read_only, raising=False)
    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(_running_sum)
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
