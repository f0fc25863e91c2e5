"""Score one predicted label map: volumes, and against its reference the structure and symmetry metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bids_app.labels import LABELS, fold_parcels
from bids_app.metrics import label_maps
from bids_app.metrics.structures import METRICS, compare_label_maps
from bids_app.metrics.symmetry import SWAP_THRESHOLD, symmetry
from bids_app.metrics.volumes import volumes
from bids_app.utils.label_counts import label_counts


@dataclass(frozen=True)
class ImageJob:
    """One prediction to score: its file, its reference (or None), BIDS entities and settings."""

    prediction: Path
    reference: Path | None
    entities: dict = field(default_factory=dict)  # subject, session, acquisition, reconstruction, run, desc
    labels: tuple[int, ...] | None = None  # None: the known labels present in the prediction
    tolerance_mm: float = 1.0
    swap_threshold: float = SWAP_THRESHOLD


def score_image(job: ImageJob) -> dict[str, list[dict]]:
    """Rows for the group tables: ``metrics``, ``volumes``, ``symmetry`` and ``symmetry_pairs``."""
    prediction_image, prediction = label_maps.load_label_map(job.prediction)
    counts = label_counts(prediction)  # one pass, shared by the label list, the folding and the volumes
    present = label_maps.known_labels(counts, job.prediction)
    labels = sorted(job.labels) if job.labels is not None else present
    if job.reference is not None:
        reference_image, reference = label_maps.load_label_map(job.reference)
        reference_counts = label_counts(reference)
        if not labels:  # an empty prediction without a label table: scored as empty on the reference's structures
            labels = label_maps.known_labels(reference_counts, job.reference)
    rows = {"volumes": [], "metrics": [], "symmetry": [], "symmetry_pairs": [], "folded_labels": []}
    prediction, counts = _folded(prediction, counts, labels, "prediction", job.entities, rows["folded_labels"])
    for label, volume in volumes(counts, label_maps.spacing(prediction_image), labels).items():
        rows["volumes"].append(job.entities | {"structure": LABELS[label].name, "label": label,
                                               "volume_mm3": volume})
    if job.reference is None:
        return rows
    reference, _ = _folded(reference, reference_counts, labels, "reference", job.entities, rows["folded_labels"])
    prediction = label_maps.align_prediction(prediction_image, reference_image, job.prediction, prediction)
    spacing = label_maps.spacing(reference_image)
    for label, values in compare_label_maps(reference, prediction, spacing, labels, job.tolerance_mm).items():
        for metric in METRICS:
            rows["metrics"].append(job.entities | {
                "structure": LABELS[label].name, "label": label, "metric": metric,
                "value": values[metric], "status": values["status"]})
    pairs, summary = symmetry(reference, prediction, labels, job.swap_threshold)
    rows["symmetry"].append(job.entities | summary)
    rows["symmetry_pairs"].extend(job.entities | pair for pair in pairs)
    return rows


def score_or_reason(job: ImageJob) -> tuple[dict[str, list[dict]] | None, str | None]:
    """:func:`score_image`, or None and the one-line reason this prediction cannot be scored."""
    try:
        return score_image(job), None
    except label_maps.LabelMapError as error:
        return None, str(error)


def _folded(data: np.ndarray, counts: np.ndarray, labels, role: str, entities: dict,
            record: list) -> tuple[np.ndarray, np.ndarray]:
    """``data`` with the parcels not among ``labels`` folded (:func:`~bids_app.labels.fold_parcels`), noted in
    ``record``, and its label counts (``counts``: those before folding, moved with the voxels they count)."""
    data, folded = fold_parcels(data, labels, counts)
    record.extend(entities | {"map": role, "label": label, "structure": LABELS[label].name, "into_label": parent,
                              "into_structure": LABELS[parent].name, "voxels": voxels}
                  for label, (parent, voxels) in folded.items())
    if folded:
        counts = counts.copy()
        for label, (parent, voxels) in folded.items():  # a parent's number is below its parcels'
            counts[parent] += voxels
            counts[label] = 0
    return data, counts


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
    compare_label_maps(reference, prediction, (1.0, 1.0, 1.0), labels)
    symmetry(reference, prediction, labels)
    volumes(counts, (1.0, 1.0, 1.0), labels)
