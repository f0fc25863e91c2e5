"""Peak memory of ``subseg participant`` on the packaged sample: the whole process tree, summed.

Usage: python benchmarks/memory.py [--participant-label 02 ...] [--nprocs 1] [--omp-nthreads 2] [--engine meshnet]

Writes the sample dataset (``subseg sample``) into a temporary folder, runs the participant level on it in a
child process and, every 0.1 s, sums the resident memory (VmRSS in ``/proc``) of that process and all its
descendants (nipype's worker processes included), so images segmented in parallel count together. Prints
the peak and the wall time. Linux only. The README's memory figures come from this script.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and every descendant, summed."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        todo += _children(current)
    return total


def run_measured(label: str, command: list[str], env=None) -> tuple[float, int]:
    """Wall seconds of ``command`` and the peak resident memory (bytes) of its process tree, polled every
    0.1 s; exits with the end of its log if it fails."""
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would stall the child
        start, peak = time.perf_counter(), 0
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True, env=env)
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            log.seek(0)
            sys.exit(f"{label} failed:\n{log.read()[-3000:]}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participant-label", nargs="+", default=["02"])
    parser.add_argument("--nprocs", default="1")
    parser.add_argument("--omp-nthreads", default="2")
    parser.add_argument("--engine", default="meshnet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bids = Path(tmp) / "bids"
        subprocess.run([sys.executable, "-m", "bids_app", "sample", str(bids)], check=True, capture_output=True)
        command = [sys.executable, "-m", "bids_app", str(bids), str(Path(tmp) / "out"), "participant",
                   "--participant-label", *args.participant_label, "--engine", args.engine,
                   "--nprocs", args.nprocs, "--omp-nthreads", args.omp_nthreads, "-w", str(Path(tmp) / "work")]
        seconds, peak = run_measured("subseg", command)
    images = len(args.participant_label)
    print(f"{args.engine}, {images} subject(s), --nprocs {args.nprocs} --omp-nthreads {args.omp_nthreads}: "
          f"peak memory {peak / 1024**3:.2f} GB (all processes), {seconds:.0f} s")


if __name__ == "__main__":
    main()
