"""Score one predicted label map: volumes, and against its reference the structure and symmetry metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nb
import numpy as np

from bids_app.labels import LABELS, fold_parcels
from bids_app.metrics import label_maps
from bids_app.metrics.structures import METRICS, compare_label_maps
from bids_app.metrics.symmetry import SWAP_THRESHOLD, symmetry
from bids_app.metrics.volumes import volumes
from bids_app.utils.label_counts import LabelExtents, label_counts, label_extents


@dataclass(frozen=True)
class ImageJob:
    """One prediction to score: its file, its reference (or None), BIDS entities and settings."""

    prediction: Path
    reference: Path | None
    entities: dict = field(default_factory=dict)  # subject, session, acquisition, reconstruction, run, desc
    labels: tuple[int, ...] | None = None  # None: the known labels present in the prediction
    tolerance_mm: float = 1.0
    swap_threshold: float = SWAP_THRESHOLD
    stamp: tuple | None = None  # label_maps.file_stamp(prediction, reference) when the job was made


@dataclass(frozen=True)
class _LoadedPair:
    """A prediction and its reference as scored: folded, the prediction on the reference's grid."""

    prediction_image: nb.Nifti1Image
    extents: LabelExtents  # the folded prediction's, on its own grid
    labels: list[int]
    reference: np.ndarray | None = None
    aligned: np.ndarray | None = None  # the folded prediction on the reference's grid
    spacing: tuple[float, float, float] | None = None  # the reference's
    known: tuple[LabelExtents, LabelExtents] | None = None  # extents of (reference, aligned), when at hand


def _load_pair(job: ImageJob, folded_rows: list) -> _LoadedPair:
    """Both maps of ``job`` loaded, their parcels folded (noted in ``folded_rows``) and put on one grid."""
    prediction_image, prediction = label_maps.load_label_map(job.prediction)
    extents = label_extents(prediction)  # one pass, shared by the label list, the folding, volumes and crops
    present = label_maps.known_labels(extents.counts, job.prediction)
    labels = sorted(job.labels) if job.labels is not None else present
    if job.reference is None:
        _check_unchanged(job)
        prediction, extents = _folded(prediction, extents, labels, "prediction", job.entities, folded_rows)
        return _LoadedPair(prediction_image, extents, labels)
    reference_image, reference = label_maps.load_label_map(job.reference)
    _check_unchanged(job)
    reference_extents = label_extents(reference)
    if not labels:  # an empty prediction without a label table: scored as empty on the reference's structures
        labels = label_maps.known_labels(reference_extents.counts, job.reference)
    prediction, extents = _folded(prediction, extents, labels, "prediction", job.entities, folded_rows)
    reference, reference_extents = _folded(reference, reference_extents, labels, "reference", job.entities,
                                           folded_rows)
    aligned = label_maps.align_prediction(prediction_image, reference_image, job.prediction, prediction)
    # a resampled prediction's extents are not those of its file: they are then taken again
    known = (reference_extents, extents) if label_maps.same_grid(prediction_image, reference_image) else None
    return _LoadedPair(prediction_image, extents, labels, reference, aligned, label_maps.spacing(reference_image),
                       known)


def _check_unchanged(job: ImageJob) -> None:
    """Refuse maps rewritten since the job was made: a process helping with a map must read what its owner
    read."""
    if job.stamp is not None and label_maps.file_stamp(job.prediction, job.reference) != job.stamp:
        raise label_maps.LabelMapError(f"{job.prediction}: it or its reference changed while the group level "
                                       f"ran; run it again")


def score_image(job: ImageJob, draw: Callable[[list[int]], Iterable[int]] | None = None) -> dict[str, list[dict]]:
    """Rows for the group tables: ``metrics``, ``volumes``, ``symmetry``, ``symmetry_pairs`` and
    ``folded_labels``.

    ``draw``: which structures this process scores (see ``compare_label_maps``); all when None.
    """
    rows = {"volumes": [], "metrics": [], "symmetry": [], "symmetry_pairs": [], "folded_labels": []}
    loaded = _load_pair(job, rows["folded_labels"])
    for label, volume in volumes(loaded.extents.counts, label_maps.spacing(loaded.prediction_image),
                                 loaded.labels).items():
        rows["volumes"].append(job.entities | {"structure": LABELS[label].name, "label": label,
                                               "volume_mm3": volume})
    if job.reference is None:
        return rows
    pairs, summary = symmetry(loaded.reference, loaded.aligned, loaded.labels, job.swap_threshold)
    rows["symmetry"].append(job.entities | summary)
    rows["symmetry_pairs"].extend(job.entities | pair for pair in pairs)
    rows["metrics"] = _structure_rows(job, loaded, draw)
    return rows


def score_structures(job: ImageJob, draw: Callable[[list[int]], Iterable[int]]) -> list[dict]:
    """The ``metrics`` rows of the structures ``draw`` gives this process, for a process that helps score a
    map another one has loaded and reported on already (its warnings are not repeated)."""
    subseg = logging.getLogger("subseg")
    quiet, subseg.disabled = subseg.disabled, True
    try:
        loaded = _load_pair(job, [])
    finally:
        subseg.disabled = quiet
    return _structure_rows(job, loaded, draw)


def _structure_rows(job: ImageJob, loaded: _LoadedPair, draw) -> list[dict]:
    """``metrics`` rows of the structures drawn, in ascending label order."""
    compared = compare_label_maps(loaded.reference, loaded.aligned, loaded.spacing, loaded.labels, job.tolerance_mm,
                                  loaded.known, draw)
    return [job.entities | {"structure": LABELS[label].name, "label": label, "metric": metric,
                            "value": values[metric], "status": values["status"]}
            for label, values in compared.items() for metric in METRICS]


def score_or_reason(job: ImageJob, draw: Callable[[list[int]], Iterable[int]] | None = None
                    ) -> tuple[dict[str, list[dict]] | None, str | None]:
    """:func:`score_image`, or None and the one-line reason this prediction cannot be scored."""
    try:
        return score_image(job, draw), None
    except label_maps.LabelMapError as error:
        return None, str(error)


def _folded(data: np.ndarray, extents: LabelExtents, labels, role: str, entities: dict,
            record: list) -> tuple[np.ndarray, LabelExtents]:
    """``data`` with the parcels not among ``labels`` folded (:func:`~bids_app.labels.fold_parcels`), noted in
    ``record``, and its label extents (``extents``: those before folding, moved with the voxels they hold)."""
    data, folded = fold_parcels(data, labels, extents.counts)
    record.extend(entities | {"map": role, "label": label, "structure": LABELS[label].name, "into_label": parent,
                              "into_structure": LABELS[parent].name, "voxels": voxels}
                  for label, (parent, voxels) in folded.items())
    for label, (parent, _) in folded.items():  # a parent's number is below its parcels'
        extents = extents.moved(label, parent)
    return data, extents


def load_kernels() -> None:
    """Compile or load the metrics' compiled kernels and lookup tables in this process, by scoring a small
    synthetic pair (one structure near its reference, one far), so that workers forked from it start with
    them instead of each loading them again."""
    reference = np.zeros((32, 32, 32), np.int32)
    reference[4:12, 4:12, 4:12], reference[18:26, 4:12, 4:12] = 17, 53
    prediction = reference.copy()
    prediction[4:12, 4:12, 4:12], prediction[4:12, 18:26, 4:12] = 0, 17  # Left-Hippocampus moved far
    prediction[prediction == 53] = 0
    prediction[19:27, 4:12, 4:12] = 53  # Right-Hippocampus one voxel off
    counts = label_counts(prediction)
    labels = label_maps.known_labels(counts, Path("synthetic"))
    compare_label_maps(reference, prediction, (1.0, 1.0, 1.0), labels)  # label_extents included
    symmetry(reference, prediction, labels)
    volumes(counts, (1.0, 1.0, 1.0), labels)
