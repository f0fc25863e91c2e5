"""No orphans: nipype's MultiProc workers end with the main process, however it ends.

Each worker asks Linux to kill it when its parent dies (``prctl(PR_SET_PDEATHSIG)``), which covers a
``kill -9`` of the main process; workers ignore Ctrl-C, so the main process alone decides and ends them
(:func:`end_workers`) before it stops with one line.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

from nipype.pipeline.plugins.multiproc import MultiProcPlugin

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux); exit now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _worker_initializer(cwd: str, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent_pid)
    os.chdir(cwd)


class OrphanFreeMultiProcPlugin(MultiProcPlugin):
    """nipype's MultiProc whose worker processes die with the main process and ignore Ctrl-C."""

    def __init__(self, plugin_args=None):
        super().__init__(plugin_args=plugin_args)
        self.pool.shutdown(wait=False)  # no worker has started yet: they start on the first submit
        self.pool = ProcessPoolExecutor(
            max_workers=self.processors, initializer=_worker_initializer, initargs=(self._cwd, os.getpid()),
            mp_context=multiprocessing.get_context(self.plugin_args.get("mp_context")),
        )


def end_workers(timeout: float = 5.0) -> None:
    """Kill every worker process this process started, and wait for them.

    The pool then reports itself broken to callbacks that no longer matter: its logger is silenced.
    """
    logging.getLogger("concurrent.futures").disabled = True
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(timeout)
