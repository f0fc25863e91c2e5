"""Whether a process of this host still runs."""

from __future__ import annotations

import os


def is_running(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (also one of another user).

    >>> is_running(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
