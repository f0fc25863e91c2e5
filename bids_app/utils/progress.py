"""Progress of long work: n/N done, elapsed time and time left.

On a terminal a live bar is redrawn under the messages; in a log or SLURM output (stderr not a TTY) each
event is one plain log line. ``-q`` (the ``subseg`` logger above INFO) silences it.

>>> duration(42.4), duration(125), duration(7260)
('42 s', '2 min 05 s', '2 h 01 min')
"""

from __future__ import annotations

import logging
import shutil
import sys
import time

LOGGER = logging.getLogger("subseg")


def duration(seconds: float) -> str:
    """A short human duration."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Counts ``total`` items of work (``what``: "images segmented", "epochs") as they start and finish."""

    def __init__(self, total: int, what: str, *, stream=None, live: bool | None = None, clock=time.monotonic):
        self.total, self.what, self.clock = total, what, clock
        self.finished = 0
        self.running: dict[str, float] = {}
        self.started_at = clock()
        self.stream = stream or sys.stderr
        self.enabled = LOGGER.isEnabledFor(logging.INFO)
        self.live = self.enabled and (live if live is not None else _is_terminal(self.stream))

    def elapsed(self) -> float:
        return self.clock() - self.started_at

    def time_left(self) -> float | None:
        """Elapsed time per finished item times the items left (None before the first finishes)."""
        if not self.finished:
            return None
        return self.elapsed() / self.finished * max(self.total - self.finished, 0)

    def status(self) -> str:
        """``2/4 images segmented, 1 min 10 s elapsed, about 1 min 10 s left``."""
        left = self.time_left()
        text = f"{self.finished}/{self.total} {self.what}, {duration(self.elapsed())} elapsed"
        return text + (f", about {duration(left)} left" if left is not None and self.finished < self.total else "")

    def start(self, name: str) -> None:
        """``name`` has started."""
        self.running[name] = self.clock()
        self._say(f"{name}: started ({len(self.running) + self.finished} of {self.total})")

    def done(self, name: str, result=None, *, detail: str = "", failed: bool = False):
        """``name`` has finished (or failed); returns ``result`` so that it can wrap a call."""
        began = self.running.pop(name, None)
        self.finished += 1
        took = f" in {duration(self.clock() - began)}" if began is not None else ""
        outcome = f"failed{took}" if failed else (detail or f"done{took}")
        self._say(f"{name}: {outcome}; {self.status()}")
        return result

    def step(self, name: str) -> None:
        """Redraw the live bar naming the step now running (nothing in plain mode)."""
        if self.live:
            self._draw(name)

    def close(self) -> None:
        """Clear the live bar."""
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def bar(self, width: int = 20) -> str:
        filled = int(width * self.finished / self.total) if self.total else width
        return "[" + "#" * filled + "." * (width - filled) + "]"

    def _say(self, message: str) -> None:
        if not self.enabled:
            return
        if not self.live:
            LOGGER.info("%s", message)
            return
        self.stream.write(f"\r\033[K{time.strftime('%H:%M:%S')} | {message}\n")
        self._draw()

    def _draw(self, step: str = "") -> None:
        running = step or ", ".join(self.running)
        line = f"{self.bar()} {self.status()}" + (f" | {running}" if running else "")
        self.stream.write("\r\033[K" + line[: shutil.get_terminal_size().columns - 1])
        self.stream.flush()


class WorkflowProgress:
    """A nipype ``status_callback`` (MultiProc, Linear, SLURM): one item per image branch of the workflow.

    An image starts with its first node and ends when all its nodes have ended, or fails with its first
    failing node. ``branches`` maps each branch's workflow name to the image name shown. Identity nodes
    (inputnode, outputnode) are left out: nipype removes them from the graph it runs.
    """

    def __init__(self, workflow, branches: dict[str, str], progress: Progress | None = None):
        from nipype.interfaces.utility import IdentityInterface

        self.branches = branches
        self.progress = progress or Progress(len(branches), "images segmented")
        nodes = [name for name in workflow.list_node_names()
                 if not isinstance(workflow.get_node(name).interface, IdentityInterface)
                 or hasattr(workflow.get_node(name), "joinsource")]
        self.expected = {branch: {node for node in nodes if _in_branch(node, branch)} for branch in branches}
        self.ended: dict[str, set] = {branch: set() for branch in branches}
        self.closed: set[str] = set()

    def __call__(self, node, status: str) -> None:
        branch = next((branch for branch in self.branches if _in_branch(node.fullname, branch)), None)
        if branch is None or branch in self.closed:
            return
        name = self.branches[branch]
        if status == "start":
            if name not in self.progress.running:
                self.progress.start(name)
            self.progress.step(f"{name}: {node.name}")
        elif status == "exception":
            self.closed.add(branch)
            self.progress.done(name, failed=True)
        elif status == "end":
            self.ended[branch].update(name for name in self.expected[branch]
                                      if f".{node.fullname}".endswith(f".{name}"))
            if self.ended[branch] == self.expected[branch]:
                self.closed.add(branch)
                self.progress.done(name)

    def close(self) -> None:
        self.progress.close()


def _in_branch(node_name: str, branch: str) -> bool:
    return f".{branch}." in f".{node_name}."


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
