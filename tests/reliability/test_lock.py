"""One run per work folder: a second run stops at once with one line; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bids_app.utils.lock import LOCK_NAME, WorkDirInUseError, acquire, release, work_dir_lock

HOLD = "import sys, time; from bids_app.utils.lock import acquire; acquire(sys.argv[1]); print('held', flush=True); time.sleep(600)"


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of ``tmp_path / 'work'``."""
    work = tmp_path / "work"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(work)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert process.stdout.readline().strip() == "held"
    yield work, process
    process.kill()
    process.wait()


def test_second_run_on_a_held_work_folder_stops_at_once_with_one_line(holder, sample_bids, tmp_path):
    work, process = holder
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bids_app", sample_bids, tmp_path / "out", "participant",
                             "-w", work], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"pid {process.pid} on host {socket.gethostname()}" in result.stderr and str(work) in result.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("sub-*"))
    assert json.loads((work / LOCK_NAME).read_text())["pid"] == process.pid  # the holder's lock is untouched


def test_lock_of_a_killed_run_is_recognised_as_stale(holder):
    work, process = holder
    with pytest.raises(WorkDirInUseError):
        acquire(work)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (work / LOCK_NAME).exists()  # SIGKILL leaves it behind
    with work_dir_lock(work) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not (work / LOCK_NAME).exists()


def test_lock_whose_pid_was_reused_is_stale(tmp_path):
    """The recorded pid runs, but it is a process started after the lock was taken."""
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "process_start": "1"}))
    lock = acquire(tmp_path)
    release(lock)
    assert not lock.exists()


def test_lock_held_from_another_host_is_respected(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "another-node", "process_start": "1"}))
    with pytest.raises(WorkDirInUseError, match="pid 1 on host another-node"):
        acquire(tmp_path)
    assert (tmp_path / LOCK_NAME).exists()


def test_work_folder_made_for_the_lock_is_removed_when_left_empty(tmp_path):
    with work_dir_lock(tmp_path / "a" / "work"):
        assert (tmp_path / "a" / "work" / LOCK_NAME).exists()
    assert list(tmp_path.iterdir()) == []
