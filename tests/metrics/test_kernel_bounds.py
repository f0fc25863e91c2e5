"""The compiled kernels never index outside their arrays: their tests pass again with numba's bounds checks on.

Compiled without checks (as subseg runs them, for speed), an index past an array's end reads or writes
whatever memory lies there, and a metric can come out wrong with no error. Here the kernels are compiled
afresh with ``NUMBA_BOUNDSCHECK=1``, into a cache folder of their own, and the tests that run them (the
real-data comparisons with DeepMind included) run in a separate process, where such an index raises.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Tests and doctests that run every compiled kernel (``bids_app.utils.compiled``).
KERNEL_TESTS = (
    "bids_app/metrics", "bids_app/utils/label_counts.py", "tests/utils/test_label_counts.py",
    "tests/metrics/test_surface.py", "tests/metrics/test_restricted_edt.py", "tests/metrics/test_symmetry.py",
    "tests/metrics/test_weighted_percentile.py", "tests/metrics/test_subject.py",
    "tests/metrics/test_scoring_pool.py", "tests/metrics/test_label_maps.py",
)

#: Reads one element past the end of an array through a kernel: raises only where bounds are checked.
OUT_OF_BOUNDS = """
import numpy as np
from bids_app.utils.label_counts import _counts
try:
    _counts(np.array([2], np.int32), np.zeros(2, np.int64))
except IndexError:
    print("checked")
"""


@pytest.mark.slow
def test_kernels_pass_their_tests_with_bounds_checks(tmp_path, shared_data):
    environment = os.environ | {"NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    probe = subprocess.run([sys.executable, "-c", OUT_OF_BOUNDS], cwd=ROOT, env=environment,
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "checked", probe.stderr  # the checks are really on in that process

    run = subprocess.run([sys.executable, "-m", "pytest", *KERNEL_TESTS, "-q", "-p", "no:cacheprovider",
                          "-W", "ignore::DeprecationWarning"], cwd=ROOT, env=environment | {
                             "SUBSEG_TEST_DATA": str(shared_data)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
