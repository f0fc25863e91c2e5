"""Fixtures of the cluster tests: a real one-node SLURM cluster on localhost for the test session."""

from __future__ import annotations

import os
import shutil

import pytest

from slurm_helpers import missing_tools, start_cluster


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: runs subseg through a real one-node SLURM cluster started on "
                                       "localhost (minutes; needs root, slurm-wlm and munge: scripts/ci_slurm.sh)")


@pytest.fixture(scope="session")
def slurm_cluster():
    """munged + slurmctld + slurmd started in a temporary folder, stopped (by pid) and removed afterwards."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"SLURM test needs {', '.join(missing)}: bash scripts/ci_slurm.sh", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the SLURM test starts slurmctld, slurmd and munged: run it as root", pytrace=False)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
