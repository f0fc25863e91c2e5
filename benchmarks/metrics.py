"""Time subseg's per-structure metrics against DeepMind's surface-distance and MONAI on real label maps.

Usage: ``python benchmarks/metrics.py DATA_DIR [--peers deepmind monai] [--cases ...] [--repeat 3]`` where
``DATA_DIR`` is the shared real-data folder (``voxelmorph/``, ``synthseg/`` and ``fsaverage/`` inside).
Each case compares a real label map (reference) with a "prediction": the same map shifted by one voxel
along two axes (a realistic near miss), the same map with its Left/Right labels swapped (the symmetry
trap), and, as a worst case, another subject's unregistered map; the 30 structures voxelmorph evaluates
are scored. A last case scores 100 labels of FreeSurfer's 256^3 aparc+aseg shifted by one voxel.
Everything runs on one thread (BLAS/OpenMP pools set to 1 before NumPy loads), as DeepMind's package
does. Each tool runs ``--repeat`` times; the least wall and CPU seconds are printed per subject pair
with how many times faster subseg is, and the largest difference in the values both report. On a
machine others load, the CPU seconds are the steadier measure.
"""

from __future__ import annotations

import os

for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_pool] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import nibabel as nb  # noqa: E402
import numpy as np  # noqa: E402

from bids_app.labels import swap_sides  # noqa: E402
from bids_app.metrics.structures import compare_label_maps  # noqa: E402

logger = logging.getLogger("subseg")


#: Short names of the benchmark cases, in the order they run.
CASES = ("near-miss-160", "near-miss-256", "swapped", "unregistered", "100-labels")


def _cases(data_dir: Path, wanted):
    """(name, reference, prediction, spacing, labels) for each wanted benchmark pair."""
    labels = np.load(data_dir / "voxelmorph" / "labels.npz")["labels"].astype(int).tolist()
    if "near-miss-160" in wanted:
        scan = np.load(data_dir / "voxelmorph" / "test_scan.npz")["seg"].astype(np.int32)
        yield ("voxelmorph 160x192x224, shifted 1 voxel", scan, np.roll(scan, (1, 1), axis=(0, 1)),
               (1.0, 1.0, 1.0), labels)
    maps = data_dir / "synthseg" / "training_label_maps"
    first = np.asarray(nb.load(maps / "training_seg_02.nii.gz").dataobj).astype(np.int32)
    if "near-miss-256" in wanted:
        yield "synthseg 256^3, shifted 1 voxel", first, np.roll(first, (1, 1), axis=(0, 2)), (1.0, 1.0, 1.0), labels
    if "swapped" in wanted:
        yield "synthseg 256^3, left/right labels swapped", first, swap_sides(first), (1.0, 1.0, 1.0), labels
    if "unregistered" in wanted:
        second = np.asarray(nb.load(maps / "training_seg_03.nii.gz").dataobj).astype(np.int32)
        yield "synthseg 256^3, another subject (worst case)", first, second, (1.0, 1.0, 1.0), labels
    if "100-labels" in wanted:
        aparc = np.asarray(nb.load(data_dir / "fsaverage" / "aparc+aseg.mgz").dataobj).astype(np.int32)
        many = [int(label) for label in np.unique(aparc) if label][:100]
        yield ("fsaverage aparc+aseg 256^3, 100 labels, shifted 1 voxel", aparc,
               np.roll(aparc, (1, 1), axis=(0, 2)), (1.0, 1.0, 1.0), many)


def _deepmind(reference, prediction, spacing, labels, tolerance_mm):
    """Dice, HD95, ASSD and NSD of each label present in both maps with ``surface-distance``."""
    import surface_distance

    values = {}
    for label in labels:
        truth, guess = reference == label, prediction == label
        if not truth.any() or not guess.any():  # the package fails on empty masks under NumPy 2
            continue
        distances = surface_distance.compute_surface_distances(truth, guess, spacing)
        areas = np.sum(distances["surfel_areas_gt"]) + np.sum(distances["surfel_areas_pred"])
        assd = (np.sum(distances["distances_gt_to_pred"] * distances["surfel_areas_gt"])
                + np.sum(distances["distances_pred_to_gt"] * distances["surfel_areas_pred"])) / areas
        values[label] = {
            "dice": surface_distance.compute_dice_coefficient(truth, guess),
            "hd95": surface_distance.compute_robust_hausdorff(distances, 95),
            "assd": assd,
            "nsd": surface_distance.compute_surface_dice_at_tolerance(distances, tolerance_mm),
        }
    return values


def _monai(reference, prediction, spacing, labels, tolerance_mm):
    """Dice and NSD (sub-voxel surfels, as DeepMind) of each label present in both maps with MONAI."""
    import torch
    from monai.metrics import compute_dice, compute_surface_dice

    values = {}
    for label in labels:
        truth = torch.from_numpy(reference == label)[None, None]
        guess = torch.from_numpy(prediction == label)[None, None]
        if not truth.any() or not guess.any():
            continue
        values[label] = {
            "dice": float(compute_dice(guess, truth, include_background=True)),
            "nsd": float(compute_surface_dice(guess, truth, [tolerance_mm], include_background=True,
                                              spacing=spacing, use_subvoxels=True)),
        }
    return values


def _timed(function, repeat: int):
    """Least wall and CPU seconds of ``repeat`` calls of ``function``, and its last result."""
    wall, cpu = [], []
    for _ in range(repeat):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu), result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--peers", nargs="*", default=["deepmind", "monai"], choices=["deepmind", "monai"])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per case; the least is kept")
    parser.add_argument("--tolerance-mm", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    peers = {"deepmind": _deepmind, "monai": _monai}
    logger.info("load average at start: %s", " ".join(f"{load:.1f}" for load in os.getloadavg()))
    for name, reference, prediction, spacing, labels in _cases(args.data_dir, args.cases):
        own_wall, own_cpu, ours = _timed(
            lambda: compare_label_maps(reference, prediction, spacing, labels, args.tolerance_mm), args.repeat)
        logger.info("%s (%d labels): subseg %.2f s wall, %.2f s CPU per subject pair (one thread)",
                    name, len(labels), own_wall, own_cpu)
        for peer in args.peers:
            wall, cpu, theirs = _timed(
                lambda: peers[peer](reference, prediction, spacing, labels, args.tolerance_mm), args.repeat)
            difference = max(abs(ours[label][metric] - value)
                             for label, metrics in theirs.items() for metric, value in metrics.items())
            logger.info("%s: %s %.2f s wall, %.2f s CPU; subseg %.1fx faster (wall), %.1fx (CPU); "
                        "largest difference %.2e", name, peer, wall, cpu, wall / own_wall, cpu / own_cpu, difference)
    logger.info("load average at end: %s", " ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
