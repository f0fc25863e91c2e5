"""Time ``subseg group`` per subject through the command line, against DeepMind's surface-distance.

Usage: ``python benchmarks/group.py DATA_DIR [--cases ...] [--subjects 10] [--nprocs 1 2] [--repeat 5]
[--deepmind-subjects N]``

For each case, builds a raw folder, a derivatives folder of predictions and one of references from
SynthSeg's real 256^3 training label maps (one subject each, from ``training_seg_02``), the predictions
being, per case:

- ``shifted``: the reference shifted by 1 to 5 voxels with two Left/Right pairs (hippocampus, amygdala)
  swapped;
- ``swapped``: the reference with every Left/Right label swapped (the symmetry trap);
- ``unregistered``: the next subject's map (the worst case).

Then runs, each in a fresh process with BLAS/OpenMP pools of one thread, ``subseg raw out group
--reference-dir ref`` on one subject, on all, and on all with every ``--nprocs`` given, those runs taking
turns ``--repeat`` times, and prints:

- the marginal wall and CPU seconds per subject ((all - one) / (subjects - 1), single process, medians of
  the repeats), against DeepMind's seconds per subject (``surface-distance`` on the same labels, masks
  included; on every subject unless ``--deepmind-subjects`` names fewer, the first ones, at about 15 s
  each); on a machine others load, the CPU seconds are the steadier measure;
- the speed-up of each ``--nprocs`` over the single-process run just before it, for the whole command and
  for its scoring stage (the part that ``--nprocs`` spreads over processes; imports and the report are
  serial): every repeat's and their median, and the peak memory (RSS) of the largest process.

The load average is printed, and each run's share of CPU time the hypervisor took away (steal, from
``/proc/stat``): on a shared machine, the ratios are only as good as the load allows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import nibabel as nb
import numpy as np

from bids_app.labels import LABELS, homolog, swap_sides

#: Left labels whose side is swapped in every prediction of the shifted case: hippocampus and amygdala.
SWAPPED_LEFT = (17, 18)
#: Benchmark cases: how each prediction is made from the reference maps.
CASES = ("shifted", "swapped", "unregistered")


def _derivatives(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataset_description.json").write_text(json.dumps(
        {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "derivative", "GeneratedBy": [{"Name": name}]}))
    return folder


def _shifted(reference: np.ndarray, shift: int) -> np.ndarray:
    """``reference`` shifted by ``shift`` voxels on two axes, with the ``SWAPPED_LEFT`` pairs swapped."""
    moved = np.roll(reference, (shift, 1), axis=(0, 2))
    swapped = moved.copy()
    for left in SWAPPED_LEFT:
        right = homolog(left)
        swapped[moved == left], swapped[moved == right] = right, left
    return swapped


def _label_map(data_dir: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """SynthSeg training label map number ``index + 2`` (int32) and its affine."""
    image = nb.load(data_dir / "synthseg" / "training_label_maps" / f"training_seg_{index + 2:02d}.nii.gz")
    return np.asarray(image.dataobj).astype(np.int32), image.affine


def build_dataset(data_dir: Path, root: Path, subjects: int, case: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Raw, outputs and references folders under ``root``; returns the (reference, prediction) arrays."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "dataset_description.json").write_text(json.dumps({"Name": "SynthSegMaps", "BIDSVersion": "1.8.0"}))
    outputs, references = _derivatives(root / "out", "subseg"), _derivatives(root / "ref", "manual")
    pairs = []
    for index in range(subjects):
        reference, affine = _label_map(data_dir, index)
        if case == "shifted":
            prediction = _shifted(reference, 1 + index % 5)
        elif case == "swapped":
            prediction = swap_sides(reference)
        else:
            prediction = _label_map(data_dir, (index + 1) % 20)[0]
        for folder, data, desc in ((references, reference, "manual"), (outputs, prediction, "model")):
            anat = folder / f"sub-{index + 1:02d}" / "anat"
            anat.mkdir(parents=True)
            nb.Nifti1Image(data.astype(np.int16), affine).to_filename(
                anat / f"sub-{index + 1:02d}_desc-{desc}_dseg.nii.gz")
        pairs.append((reference, prediction))
    return pairs


class Run(NamedTuple):
    """One ``subseg group`` process: wall and CPU seconds (its workers included), wall seconds of its scoring
    stage and peak RSS (MiB) of its largest process (both from its log), and the share of the machine's CPU
    time stolen by the hypervisor meanwhile (None where ``/proc/stat`` has no such figure)."""

    seconds: float
    cpu: float
    scoring: float
    peak: float
    steal: float | None


def cpu_ticks() -> tuple[int, int] | None:
    """Stolen and total CPU ticks of the machine since boot (``/proc/stat``), None where unknown."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    if len(fields) < 8:
        return None
    return fields[7], sum(fields[:8])  # user nice system idle iowait irq softirq steal


def run_group(root: Path, participants: list[str], nprocs: int) -> Run:
    """Times one ``subseg group`` process on ``participants``."""
    env = os.environ | {pool: "1" for pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    command = [sys.executable, "-m", "bids_app", str(root / "raw"), str(root / "out"), "group",
               "--reference-dir", str(root / "ref"), "--reference-desc", "manual", "--desc", "model",
               "--nprocs", str(nprocs), "--participant-label", *participants]
    before, ticks = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_ticks()
    start = time.perf_counter()
    log = subprocess.run(command, check=True, env=env, capture_output=True, text=True).stderr
    seconds = time.perf_counter() - start
    after, ticks_after = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_ticks()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    scored = re.search(r"scored in ([\d.]+) s; peak memory (\d+) MiB", log)
    steal = None
    if ticks and ticks_after and ticks_after[1] > ticks[1]:
        steal = (ticks_after[0] - ticks[0]) / (ticks_after[1] - ticks[1])
    return Run(seconds, cpu, float(scored.group(1)), float(scored.group(2)), steal)


def _steal(runs: list[Run]) -> str:
    shares = [run.steal for run in runs if run.steal is not None]
    return f"steal {100 * max(shares):.1f} % at most" if shares else "steal unknown"


def deepmind_seconds(reference: np.ndarray, prediction: np.ndarray) -> tuple[float, float]:
    """Wall and CPU seconds DeepMind's package takes for the labels subseg scores (known ones), masks
    included."""
    import surface_distance

    start, start_cpu = time.perf_counter(), time.process_time()
    for label in np.unique(prediction):
        truth, guess = reference == label, prediction == label
        if label in LABELS and label and truth.any() and guess.any():
            distances = surface_distance.compute_surface_distances(truth, guess, (1.0, 1.0, 1.0))
            surface_distance.compute_robust_hausdorff(distances, 95)
            surface_distance.compute_surface_dice_at_tolerance(distances, 1.0)
            surface_distance.compute_dice_coefficient(truth, guess)
    return time.perf_counter() - start, time.process_time() - start_cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--nprocs", type=int, nargs="*", default=[2])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each subseg command, taking turns")
    parser.add_argument("--deepmind-subjects", type=int, default=None,
                        help="time DeepMind on the first N subjects only (default: all, as subseg)")
    args = parser.parse_args(argv)
    print("load average at start:", " ".join(f"{load:.1f}" for load in os.getloadavg()))
    for case in args.cases:
        with tempfile.TemporaryDirectory() as tmp:
            _run_case(args, case, Path(tmp))
    print("load average at end:", " ".join(f"{load:.1f}" for load in os.getloadavg()))


def _run_case(args, case: str, root: Path) -> None:
    """Times one case: one subject, all subjects and all with each ``--nprocs`` (taking turns, ``--repeat``
    times), then DeepMind on the first subjects."""
    pairs = build_dataset(args.data_dir, root, args.subjects, case)
    everyone = [f"{index + 1:02d}" for index in range(args.subjects)]
    ones, serials, parallels = [], [], {nprocs: [] for nprocs in args.nprocs}
    for _ in range(args.repeat):
        ones.append(run_group(root, everyone[:1], 1))
        serials.append(run_group(root, everyone, 1))
        for nprocs in args.nprocs:
            parallels[nprocs].append(run_group(root, everyone, nprocs))
    one, one_cpu = np.median([run.seconds for run in ones]), np.median([run.cpu for run in ones])
    serial, serial_cpu = np.median([run.seconds for run in serials]), np.median([run.cpu for run in serials])
    marginal, marginal_cpu = (serial - one) / (args.subjects - 1), (serial_cpu - one_cpu) / (args.subjects - 1)
    print(f"[{case}] subseg group, 1 process, median of {args.repeat}: {one:.2f} s for 1 subject, {serial:.2f} s "
          f"for {args.subjects} (scoring {np.median([run.scoring for run in serials]):.1f} s, peak "
          f"{max(run.peak for run in serials):.0f} MiB): {marginal:.2f} s wall, {marginal_cpu:.2f} s CPU per "
          f"extra subject; {_steal(ones + serials)}")
    timed = pairs if args.deepmind_subjects is None else pairs[:args.deepmind_subjects]
    if timed:
        wall, cpu = np.mean([deepmind_seconds(*pair) for pair in timed], axis=0)
        print(f"[{case}] DeepMind surface-distance on {len(timed)} subjects: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"per subject; subseg "
              f"{wall / marginal:.1f}x faster (wall), {cpu / marginal_cpu:.1f}x (CPU)")
    for nprocs, runs in parallels.items():
        whole = [serial_run.seconds / run.seconds for serial_run, run in zip(serials, runs)]
        scoring = [serial_run.scoring / run.scoring for serial_run, run in zip(serials, runs)]
        print(f"[{case}] subseg group, --nprocs {nprocs}, {args.subjects} subjects: scoring "
              f"{np.median(scoring):.2f}x over 1 process (median; each run {', '.join(f'{r:.2f}' for r in scoring)}"
              f"), whole command {np.median(whole):.2f}x (each {', '.join(f'{r:.2f}' for r in whole)}); peak "
              f"{max(run.peak for run in runs):.0f} MiB in the largest process; {_steal(runs)}")


if __name__ == "__main__":
    main()
