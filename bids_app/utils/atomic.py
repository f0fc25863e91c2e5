"""Write files so that a reader never sees a half-written one: temporary name, then rename."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .processes import is_running


def current_umask() -> int:
    """The process's umask, read without changing it (Linux ``/proc``), else by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _writer_tag() -> str:
    """Host and process id of this writer, as they appear in its temporary names."""
    return f"{socket.gethostname().replace('.', '-')}.{os.getpid()}"


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of ``target`` left by writers on this host that no longer run (a killed run);
    return them. Temporaries of live writers, and of other hosts, are left alone.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> dead = folder / f".out.tsv.{_writer_tag().rsplit('.', 1)[0]}.999999999.abcd1234.tmp.tsv"
    >>> _ = dead.write_text("half")
    >>> [path.name == dead.name for path in remove_stale_temporaries(folder / "out.tsv")], dead.exists()
    ([True], False)
    """
    target = Path(target)
    host = _writer_tag().rsplit(".", 1)[0]
    suffix = "".join(target.suffixes)
    removed = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.{glob.escape(host)}.*.tmp{glob.escape(suffix)}"):
        pid = path.name[len(f".{target.name}.{host}."):].split(".", 1)[0]
        if pid.isdigit() and not is_running(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    The temporary name keeps the target's suffixes so writers that look at them (``.nii.gz``) work, and names
    its writer (host, pid): once the target is in place, temporaries of dead writers of the same target (a
    killed run) are removed, so a rerun ends as an uninterrupted run.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.{_writer_tag()}.", suffix=f".tmp{suffix}",
                                   dir=target.parent)
    os.close(handle)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the mode open() would
        os.replace(tmp, target)
        remove_stale_temporaries(target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy ``source`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text)
    return Path(target)
