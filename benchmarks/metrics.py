"""Time subseg's per-structure metrics against DeepMind's surface-distance and MONAI on real label maps.

Usage: ``python benchmarks/metrics.py DATA_DIR [--peers deepmind monai]`` where ``DATA_DIR`` is the shared
real-data folder (``voxelmorph/`` and ``synthseg/`` inside). Each case compares a real label map (reference)
with a "prediction": the same map shifted by one voxel along two axes (a realistic near miss), the same map
with its Left/Right labels swapped (the symmetry trap), and, as a worst case, another subject's unregistered
map. The 30 structures voxelmorph evaluates are scored.
Prints seconds per subject pair for each tool, how many times faster subseg is (subseg runs on one thread,
as DeepMind's package does), and the largest difference in the values both report.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import nibabel as nb
import numpy as np

from bids_app.labels import LABELS, homolog
from bids_app.metrics.structures import compare_label_maps

logger = logging.getLogger("subseg")


def _cases(data_dir: Path):
    """(name, reference, prediction, spacing) for each benchmark pair."""
    scan = np.load(data_dir / "voxelmorph" / "test_scan.npz")["seg"].astype(np.int32)
    yield "voxelmorph 160x192x224, shifted 1 voxel", scan, np.roll(scan, (1, 1), axis=(0, 1)), (1.0, 1.0, 1.0)
    maps = data_dir / "synthseg" / "training_label_maps"
    first = np.asarray(nb.load(maps / "training_seg_02.nii.gz").dataobj).astype(np.int32)
    yield "synthseg 256^3, shifted 1 voxel", first, np.roll(first, (1, 1), axis=(0, 2)), (1.0, 1.0, 1.0)
    yield "synthseg 256^3, left/right labels swapped", first, _swap_hemispheres(first), (1.0, 1.0, 1.0)
    second = np.asarray(nb.load(maps / "training_seg_03.nii.gz").dataobj).astype(np.int32)
    yield "synthseg 256^3, another subject (worst case)", first, second, (1.0, 1.0, 1.0)


def _swap_hemispheres(label_map: np.ndarray) -> np.ndarray:
    """``label_map`` with every Left-/Right- FreeSurfer label replaced by its homologue."""
    lookup = np.arange(label_map.max() + 1)
    for label in np.unique(label_map):
        other = homolog(int(label)) if int(label) in LABELS else None
        if other is not None and other <= label_map.max():
            lookup[label] = other
    return lookup[label_map]


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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--peers", nargs="*", default=["deepmind", "monai"], choices=["deepmind", "monai"])
    parser.add_argument("--tolerance-mm", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    labels = np.load(args.data_dir / "voxelmorph" / "labels.npz")["labels"].astype(int).tolist()
    peers = {"deepmind": _deepmind, "monai": _monai}
    for name, reference, prediction, spacing in _cases(args.data_dir):
        start = time.perf_counter()
        ours = compare_label_maps(reference, prediction, spacing, labels, args.tolerance_mm)
        own_seconds = time.perf_counter() - start
        logger.info("%s: subseg %.2f s per subject pair (one thread)", name, own_seconds)
        for peer in args.peers:
            start = time.perf_counter()
            theirs = peers[peer](reference, prediction, spacing, labels, args.tolerance_mm)
            seconds = time.perf_counter() - start
            difference = max(abs(ours[label][metric] - value)
                             for label, metrics in theirs.items() for metric, value in metrics.items())
            logger.info("%s: %s %.2f s per subject pair; subseg %.1fx faster; largest difference %.2e",
                        name, peer, seconds, seconds / own_seconds, difference)


if __name__ == "__main__":
    main()
