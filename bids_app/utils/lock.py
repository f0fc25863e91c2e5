"""One run per work folder: a lock file naming its holder (pid, host), stale locks recognised.

Two runs on one work folder overwrite each other's intermediate files and report each other's crashes. The
lock is created atomically (a hard link of a complete file, which fails if the lock exists, also on NFS), so a
reader never sees a half-written one. A lock is stale when its holder is on this host and that process is
gone (or the pid now belongs to a process started later); a lock held from another host is left to the user.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import SubsegError
from .processes import is_running

LOCK_NAME = "subseg.lock"


class WorkDirInUseError(SubsegError):
    """Another run holds the work folder."""


def _process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), or None if it does not run or is unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19]


def _is_stale(holder: dict) -> bool:
    """True when ``holder`` ran on this host and is gone (its pid unused, or reused by a later process)."""
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or not is_running(pid):
        return True
    recorded, current = holder.get("process_start"), _process_start(pid)
    return recorded is not None and current is not None and recorded != current


def _read_holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
            f"started {holder.get('started', 'at an unknown time')}")


def acquire(folder: Path) -> Path:
    """Create the lock of ``folder`` for this process; raise :class:`WorkDirInUseError` if another holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    pid = os.getpid()
    holder = {"pid": pid, "host": socket.gethostname(), "process_start": _process_start(pid),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    draft = folder / f".{LOCK_NAME}.{pid}"
    draft.write_text(json.dumps(holder) + "\n")
    try:
        for _ in range(2):
            try:
                os.link(draft, path)
                return path
            except FileExistsError:
                current = _read_holder(path)
                if current is None:
                    continue  # released meanwhile
                if current and not _is_stale(current):
                    raise WorkDirInUseError(
                        f"work folder {folder} is in use by another subseg run ({_describe(current)}); wait "
                        f"for it to end or give this run its own --work-dir (if that run is gone, delete "
                        f"{path})") from None
                path.unlink(missing_ok=True)  # stale: its holder is gone
        raise WorkDirInUseError(f"work folder {folder}: cannot take the lock {path}; another run keeps taking it")
    finally:
        draft.unlink(missing_ok=True)


def release(path: Path) -> None:
    """Remove the lock ``path`` if this process holds it."""
    holder = _read_holder(path)
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)


@contextmanager
def work_dir_lock(folder: Path):
    """Hold the lock of ``folder`` for the duration of the block; remove the folders it made if left empty."""
    folder = Path(folder).absolute()
    created = [path for path in (folder, *folder.parents) if not path.exists()]
    path = acquire(folder)
    try:
        yield path
    finally:
        release(path)
        for made in created:  # deepest first
            try:
                made.rmdir()
            except OSError:
                break
