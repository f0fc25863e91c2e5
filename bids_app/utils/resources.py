"""What the machine can give a run (CPUs and memory, for the default number of parallel processes), and what a
run took (peak memory)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

GB = 1024**3


def _meminfo_available() -> int | None:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:")), None)


def _cgroup_limit() -> int | None:
    """The container's memory limit (cgroup v2 ``memory.max``, v1 ``limit_in_bytes``), if one is set."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def available_memory_gb() -> float | None:
    """Memory free for a new run now (``MemAvailable``, capped by a container limit), in GB; None if unknown."""
    known = [value for value in (_meminfo_available(), _cgroup_limit()) if value is not None]
    return min(known) / GB if known else None


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, as in a SLURM job), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_nprocs(memory_per_process_gb: float) -> int:
    """As many processes as there are CPUs, but no more than the available memory holds (at least one).

    >>> default_nprocs(10**6)
    1
    """
    memory = available_memory_gb()
    by_memory = cpu_count() if memory is None else int(memory // memory_per_process_gb)
    return max(1, min(cpu_count(), by_memory))


def peak_memory_mib() -> float:
    """Peak resident memory (MiB) of the largest of this process and its finished children.

    This process's own peak is its ``VmHWM``: ``ru_maxrss`` survives ``exec``, so it would report the peak of
    whatever program started subseg (a Python pipeline holding a dataset) as subseg's.
    """
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        own_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError, IndexError):
        own_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own_kib, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
