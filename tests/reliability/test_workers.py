"""No orphans: SIGKILL, SIGTERM or Ctrl-C of the main process ends its worker processes promptly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _state(pid: int) -> str | None:
    """The /proc state letter of ``pid`` (None once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pids) -> list[int]:
    return [pid for pid in pids if _state(pid) not in (None, "Z")]


def _wait_for(condition, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_workers_end_with_the_main_process(sample_bids, tmp_path, how):
    process = subprocess.Popen(
        [sys.executable, "-m", "bids_app", sample_bids, tmp_path / "out", "participant", "-w", tmp_path / "work",
         "--participant-label", "01", "02", "--nprocs", "2", "--omp-nthreads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers = []
    try:
        workers = _wait_for(lambda: _children(process.pid), timeout=180)
        assert workers, "subseg started no worker process"
        time.sleep(2)
        workers = _children(process.pid)
        if how == "Ctrl-C":
            os.killpg(process.pid, signal.SIGINT)  # a terminal sends it to the whole foreground group
        else:
            process.send_signal(getattr(signal, how))
        status = process.wait(timeout=60)
        assert _wait_for(lambda: not _alive(workers), timeout=10), f"orphans after {how}: {_alive(workers)}"
        stderr = process.stderr.read()
        if how != "SIGKILL":
            assert status == 130 and "Traceback" not in stderr
            assert stderr.strip().splitlines()[-1].startswith("subseg: error: interrupted")
    finally:
        for pid in _alive([process.pid, *workers]):
            os.kill(pid, signal.SIGKILL)
        process.wait()


def test_an_interrupt_a_library_swallows_still_ends_the_run():
    """A KeyboardInterrupt caught by code subseg does not own (a bare ``except:``) must not keep the run going:
    after the grace period the workers are ended and the run exits 130 with its one line."""
    swallowing = (
        "import signal, time\n"
        "from bids_app.cli import run\n"
        "run.INTERRUPT_GRACE_SECONDS = 1.0\n"
        "signal.signal(signal.SIGINT, run._interrupt)\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    time.sleep(60)\n"
        "except BaseException:\n"
        "    pass\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", swallowing], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=30)
        assert status == 130 and time.monotonic() - started < 15
        assert process.stderr.read().strip().splitlines()[-1].startswith("subseg: error: interrupted")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_pools_a_library_forks_terminate_cleanly():
    """A library's fork pool (nnU-Net's, during ``subseg train``) is terminated with SIGTERM: its workers must
    die by it, not raise KeyboardInterrupt or drop it, or the pool waits on them forever."""
    forking = (
        "import multiprocessing, signal\n"
        "from bids_app.cli import run\n"
        "run._install_interrupt_handler()\n"
        "def handlers(_):\n"
        "    return [signal.getsignal(stop) for stop in run.STOP_SIGNALS]\n"
        "for _ in range(40):\n"
        "    with multiprocessing.get_context('fork').Pool(4) as pool:\n"
        "        in_workers = pool.map(handlers, range(8))\n"
        "assert all(found == [signal.SIG_DFL, signal.SIG_DFL] for found in in_workers), in_workers\n"
        "assert handlers(0) == [run._interrupt, run._interrupt]\n"
        "print('done', flush=True)\n"
    )
    process = subprocess.run([sys.executable, "-c", forking], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0 and process.stdout.strip() == "done", process.stderr
    assert "Traceback" not in process.stderr
