"""Score label maps on several processes, one map per process; a process left without a map of its own helps
finish the structures of one still being scored, so that the last maps do not leave processes idle.

Each map's structures are handed out one at a time, largest first, from a counter in shared memory. A helper
loads the map again (a tenth of a map's time) and takes structures from the same counter. Every structure is
scored once, by the same code whichever process takes it: the tables are those of a single process.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from bids_app.metrics.label_maps import LabelMapError
from bids_app.metrics.structures import METRICS
from bids_app.metrics.subject import ImageJob, score_or_reason, score_structures

logger = logging.getLogger("subseg")

#: A helper joins a map only while each process on it would still have this many structures to score.
SHARED_STRUCTURES = 2
#: How often (s) idle processes look for a map to help with, while every map running is still being loaded.
LOOK_AGAIN_SECONDS = 0.05

Outcome = tuple[dict[str, list[dict]] | None, str | None]


class StructureCounters:
    """Per map, in shared memory: how many of its structures processes have taken, and how many it has (-1
    until the first process has loaded it)."""

    def __init__(self, maps: int):
        self.taken = multiprocessing.Array("q", maps)
        self.totals = multiprocessing.Array("q", [-1] * maps, lock=False)

    def draw(self, index: int) -> Callable[[list[int]], Iterator[int]]:
        """For map ``index``: a ``draw`` (see ``compare_label_maps``) yielding the structures no process has
        taken yet, each taken as it is yielded."""
        def structures(ordered: list[int]) -> Iterator[int]:
            self.totals[index] = len(ordered)
            while True:
                with self.taken.get_lock():
                    next_one = self.taken[index]
                    self.taken[index] = next_one + 1
                if next_one >= len(ordered):
                    return
                yield ordered[next_one]
        return structures

    def left(self, index: int) -> int:
        """Structures of map ``index`` that no process has taken yet (0 while it is being loaded)."""
        return max(self.totals[index] - self.taken[index], 0)


_counters: StructureCounters | None = None  # this worker's


def _install(counters: StructureCounters) -> None:
    global _counters
    _counters = counters


def _score_own(index: int, job: ImageJob) -> Outcome:
    return score_or_reason(job, _counters.draw(index))


def _help(index: int, job: ImageJob) -> tuple[list[dict] | None, str | None]:
    try:
        return score_structures(job, _counters.draw(index)), None
    except LabelMapError as error:
        return None, str(error)


def score_maps(jobs: list[ImageJob], nprocs: int, done: Callable[[ImageJob, Outcome], Outcome]) -> list[Outcome]:
    """The outcome (rows, or None and the reason it cannot be scored) of each job, in order, scored on
    ``nprocs`` worker processes; ``done`` is told of each map as it is finished, and returns its outcome."""
    counters = StructureCounters(len(jobs))
    waiting, outcomes = deque(range(len(jobs))), [None] * len(jobs)
    helped: dict[int, list] = {index: [] for index in range(len(jobs))}
    running: dict[Future, tuple[int, bool]] = {}  # future: (map, whether it is a helper's)
    shared = 0
    with ProcessPoolExecutor(max_workers=nprocs, initializer=_install, initargs=(counters,)) as pool:
        while waiting or running:
            while len(running) < nprocs:
                if waiting:
                    index = waiting.popleft()
                    running[pool.submit(_score_own, index, jobs[index])] = (index, False)
                    continue
                index = _map_to_help(running, counters)
                if index is None:
                    break
                running[pool.submit(_help, index, jobs[index])] = (index, True)
            finished, _ = wait(running, timeout=LOOK_AGAIN_SECONDS if len(running) < nprocs else None,
                               return_when=FIRST_COMPLETED)
            for future in finished:
                index, helper = running.pop(future)
                if helper:
                    helped[index].append(future.result())
                else:
                    outcomes[index] = future.result()
                if outcomes[index] is not None and index not in {other for other, _ in running.values()}:
                    shared += sum(len(rows or ()) for rows, _ in helped[index]) // len(METRICS)
                    outcomes[index] = done(jobs[index], _merged(jobs[index], outcomes[index], helped.pop(index),
                                                                 max(counters.totals[index], 0)))
    logger.debug("%d structures were scored by processes helping with a map other than their own", shared)
    return outcomes


def _map_to_help(running: dict[Future, tuple[int, bool]], counters: StructureCounters) -> int | None:
    """The map still being scored whose processes each have the most structures left, if enough."""
    processes = Counter(index for index, _ in running.values())
    owned = {index for index, helper in running.values() if not helper}
    share = {index: counters.left(index) / (processes[index] + 1) for index in owned}
    index = max(share, key=share.get, default=None)
    return index if index is not None and share[index] >= SHARED_STRUCTURES else None


def _merged(job: ImageJob, outcome: Outcome, helped: list, total: int) -> Outcome:
    """The map's outcome with the metrics rows its helpers scored, in label order; a map missing a structure,
    or whose helper could not load it (the file changed meanwhile: ``ImageJob.stamp``), cannot be scored."""
    rows, reason = outcome
    if rows is None:
        return outcome
    for helper_rows, helper_reason in helped:
        if helper_reason:
            return None, helper_reason
        rows["metrics"].extend(helper_rows)
    rows["metrics"].sort(key=lambda row: row["label"])  # stable: each structure's metrics stay in order
    scored = {row["label"] for row in rows["metrics"]}
    if len(scored) != total or len(rows["metrics"]) != total * len(METRICS):
        return None, f"{job.prediction}: {len(scored)} of its {total} structures were scored; not reported"
    return rows, reason
