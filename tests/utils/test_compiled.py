"""Compiled kernels: cached where numba can write, and still compiled where it cannot."""

from __future__ import annotations

import os
import tempfile

import numba
import numpy as np
import pytest
from numba.core import caching

from bids_app.utils.compiled import TEMPORARY_CACHE, compiled, private_temporary_folder


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


def _no_folder_of_numba_s_own(monkeypatch, tmp_path):
    """Read-only package and no writable home; the temporary folder is ``tmp_path``."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(caching.InTreeCacheLocator, "from_function", classmethod(lambda cls, *args: None))
    monkeypatch.setattr(caching.UserWideCacheLocator, "from_function", classmethod(lambda cls, *args: None))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / f"{TEMPORARY_CACHE}-{os.getuid()}"


def test_caches_in_a_private_temporary_folder_where_numba_has_no_writable_folder(monkeypatch, tmp_path):
    folder = _no_folder_of_numba_s_own(monkeypatch, tmp_path)
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
    assert kernel._cache._impl.locator.get_cache_path().startswith(str(folder))
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("planted", ["writable by all", "a link"])
def test_never_loads_a_cache_folder_that_others_can_write(monkeypatch, tmp_path, planted):
    """The cache holds pickles numba runs: a folder planted in the shared temporary folder is not used."""
    folder = _no_folder_of_numba_s_own(monkeypatch, tmp_path)
    if planted == "a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    assert private_temporary_folder() is None
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
    assert isinstance(kernel._cache, caching.NullCache)
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_compiles_in_memory_where_no_cache_folder_is_writable(monkeypatch, tmp_path):
    """A read-only image run by a user without a home: every numba cache locator fails."""
    def read_only(self):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", read_only)
    monkeypatch.setattr(caching._SourceFileBackedLocatorMixin, "ensure_cache_path", read_only, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(_running_sum)
    kernel = compiled(_running_sum)
    assert kernel(np.arange(4.0)).tolist() == [0.0, 1.0, 3.0, 6.0]
