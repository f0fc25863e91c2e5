"""Per-structure metrics of one predicted label map against its reference, each structure in its own crop.

Both maps are scanned once for the bounding box of every label; each structure is then compared inside
the union of its two boxes grown by the background margin its surface search needs
(``near_search.probe_margin``), never on the full volume. Maps stored in Fortran order (as NIfTI files load)
are read through their transpose, with the spacing reversed, so that every pass runs in memory order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from bids_app.metrics import near_search, overlap, surface
from bids_app.utils.label_counts import LabelExtents, label_extents

#: Metric names, in the order they are reported.
METRICS = ("dice", "hd95", "hd", "assd", "nsd", "avd_mm3", "rvd")

#: Status of a structure: both present, one side empty, or both empty (metrics not applicable).
OK, EMPTY_PREDICTION, EMPTY_REFERENCE, BOTH_EMPTY = "ok", "empty_prediction", "empty_reference", "both_empty"


def _fortran_ordered(array: np.ndarray) -> bool:
    """Whether ``array`` is laid out in Fortran order only (its transpose is C-contiguous)."""
    return array.flags.f_contiguous and not array.flags.c_contiguous


def _grown_box(box: tuple[slice, ...], margin, shape) -> tuple[slice, ...]:
    """``box`` grown by ``margin`` voxels on each side, clipped to ``shape``."""
    return tuple(slice(max(b.start - m, 0), min(b.stop + m, n)) for b, m, n in zip(box, margin, shape))


def union_box(*boxes) -> tuple[slice, ...]:
    """Smallest box holding every non-None box given."""
    present = [box for box in boxes if box is not None]
    return tuple(slice(min(b[axis].start for b in present), max(b[axis].stop for b in present))
                 for axis in range(len(present[0])))


def _empty_result(status: str, voxel_mm3: float, reference_voxels: int, prediction_voxels: int) -> dict:
    if status == BOTH_EMPTY:
        return {name: math.nan for name in METRICS} | {"status": status}
    return {
        "dice": 0.0, "hd95": math.inf, "hd": math.inf, "assd": math.inf, "nsd": 0.0,
        "avd_mm3": overlap.absolute_volume_difference(prediction_voxels * voxel_mm3, reference_voxels * voxel_mm3),
        "rvd": overlap.relative_volume_difference(prediction_voxels * voxel_mm3, reference_voxels * voxel_mm3),
        "status": status,
    }


def compare_structure(reference: np.ndarray, prediction: np.ndarray, spacing, tolerance_mm: float) -> dict:
    """All metrics of one structure from its two boolean masks (already cropped to their union)."""
    voxel_mm3 = float(np.prod(spacing))
    reference_voxels = int(np.count_nonzero(reference))
    prediction_voxels = int(np.count_nonzero(prediction))
    if not reference_voxels or not prediction_voxels:
        status = BOTH_EMPTY if reference_voxels == prediction_voxels else (
            EMPTY_PREDICTION if reference_voxels else EMPTY_REFERENCE)
        return _empty_result(status, voxel_mm3, reference_voxels, prediction_voxels)
    common = int(np.count_nonzero(reference & prediction))
    distances = surface.surface_distances(reference, prediction, spacing)
    return {
        "dice": overlap.dice(reference_voxels, prediction_voxels, common),
        "hd95": surface.hausdorff(distances, 95.0),
        "hd": surface.hausdorff(distances),
        "assd": surface.average_surface_distance(distances),
        "nsd": surface.surface_dice(distances, tolerance_mm),
        "avd_mm3": overlap.absolute_volume_difference(prediction_voxels * voxel_mm3, reference_voxels * voxel_mm3),
        "rvd": overlap.relative_volume_difference(prediction_voxels * voxel_mm3, reference_voxels * voxel_mm3),
        "status": OK,
    }


def compare_label_maps(reference: np.ndarray, prediction: np.ndarray, spacing, labels,
                       tolerance_mm: float = 1.0,
                       extents: tuple[LabelExtents, LabelExtents] | None = None,
                       draw: Callable[[list[int]], Iterable[int]] | None = None) -> dict[int, dict]:
    """Metrics of each of ``labels`` (FreeSurfer numbers): ``{label: {metric: value, "status": ...}}``, in
    ascending label order.

    ``extents``: the reference's and the prediction's ``label_extents``, when the caller has them already.
    ``draw``: given the labels, largest structures first, yields those this call scores (the others are
    left to other processes, see ``scoring_pool``); all of them when None.
    """
    if reference.shape != prediction.shape:
        raise ValueError(f"label maps differ in shape: {reference.shape} and {prediction.shape}")
    labels = sorted(int(label) for label in labels if int(label) > 0)
    extents = extents or (label_extents(reference), label_extents(prediction))
    largest_first = sorted(labels, key=lambda label: -sum(_voxels(side, label) for side in extents))
    reference_boxes, prediction_boxes = (side.boxes(labels) for side in extents)
    if _fortran_ordered(reference):
        reference, prediction, spacing = reference.T, prediction.T, tuple(spacing)[::-1]
        reference_boxes, prediction_boxes = ({label: box[::-1] for label, box in side.items()}
                                             for side in (reference_boxes, prediction_boxes))
    margin = near_search.probe_margin(spacing)
    results = {}
    for label in (draw(largest_first) if draw is not None else largest_first):
        boxes = [reference_boxes.get(label), prediction_boxes.get(label)]
        if boxes == [None, None]:
            results[label] = _empty_result(BOTH_EMPTY, 1.0, 0, 0)
            continue
        crop = _grown_box(union_box(*boxes), margin, reference.shape)
        results[label] = compare_structure(np.equal(reference[crop], label, order="C"),
                                           np.equal(prediction[crop], label, order="C"), spacing, tolerance_mm)
    return {label: results[label] for label in labels if label in results}


def _voxels(extents: LabelExtents, label: int) -> int:
    """Voxels of ``label`` in a map (0 where absent)."""
    return int(extents.counts[label]) if label < len(extents.counts) else 0
