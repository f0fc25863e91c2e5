"""Left/right agreement: Dice of merged homologous pairs, foreground Dice, and the left/right confusion.

A model that gets the shapes right but the sides swapped (mirroring, MIC-DKFZ/nnUNet#869) scores a high
merged Dice, a low per-label Dice, and a large swap fraction.
"""

from __future__ import annotations

import numpy as np

from bids_app.labels import LABELS, homologous_pairs, structure_name
from bids_app.metrics import overlap
from bids_app.metrics.structures import bounding_boxes, union_box

#: Default swap fraction above which a subject is flagged as a hemisphere swap.
SWAP_THRESHOLD = 0.5


def _pair_counts(reference: np.ndarray, prediction: np.ndarray, left: int, right: int, boxes) -> dict:
    """Voxel counts of one Left/Right pair inside the union of its boxes."""
    crop = union_box(*[boxes[side][label] for side in (0, 1) for label in (left, right)
                       if label in boxes[side]])
    truth, guess = reference[crop], prediction[crop]
    truth_left, truth_right = truth == left, truth == right
    guess_left, guess_right = guess == left, guess == right
    truth_pair, guess_pair = truth_left | truth_right, guess_left | guess_right
    return {
        "reference_left": int(np.count_nonzero(truth_left)),
        "reference_right": int(np.count_nonzero(truth_right)),
        "left_as_right": int(np.count_nonzero(truth_left & guess_right)),
        "right_as_left": int(np.count_nonzero(truth_right & guess_left)),
        "merged_dice": overlap.dice(int(np.count_nonzero(truth_pair)), int(np.count_nonzero(guess_pair)),
                                    int(np.count_nonzero(truth_pair & guess_pair))),
    }


def _any_of(label_map: np.ndarray, labels) -> np.ndarray:
    """Boolean map of the voxels holding one of ``labels``, by table lookup (one pass, any label count)."""
    table = np.zeros(max([int(label_map.max()), *labels]) + 1, dtype=bool)
    table[list(labels)] = True
    return table[label_map]


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def symmetry(reference: np.ndarray, prediction: np.ndarray, labels, threshold: float = SWAP_THRESHOLD,
             boxes=None):
    """Per-pair rows and one subject summary of left/right agreement over ``labels``.

    Returns ``(pairs, summary)``: ``pairs`` lists, per homologous pair present, the structure name, the
    two labels, the merged Dice and the fractions ``left_as_right`` (reference-left voxels labelled as
    the right homolog) and ``right_as_left``; ``summary`` holds ``foreground_dice`` (any of ``labels``
    against background), ``merged_dice`` (mean over pairs), ``swap_fraction`` (swapped voxels over all
    reference voxels of the pairs) and ``hemisphere_swap`` (swap fraction above ``threshold``). ``boxes``: the
    ``bounding_boxes`` of both maps for (at least) these labels, when the caller has them already.
    """
    labels = sorted(int(label) for label in labels if int(label) in LABELS)
    pairs = homologous_pairs(labels)
    boxes = boxes or (bounding_boxes(reference, labels), bounding_boxes(prediction, labels))
    rows, swapped, paired = [], 0, 0
    for left, right in pairs:
        if not any(label in boxes[side] for side in (0, 1) for label in (left, right)):
            continue
        counts = _pair_counts(reference, prediction, left, right, boxes)
        swapped += counts["left_as_right"] + counts["right_as_left"]
        paired += counts["reference_left"] + counts["reference_right"]
        rows.append({
            "structure": structure_name(LABELS[left].name), "left_label": left, "right_label": right,
            "merged_dice": counts["merged_dice"],
            "left_as_right": _fraction(counts["left_as_right"], counts["reference_left"]),
            "right_as_left": _fraction(counts["right_as_left"], counts["reference_right"]),
        })
    truth_fg, guess_fg = _any_of(reference, labels), _any_of(prediction, labels)
    swap_fraction = _fraction(swapped, paired)
    summary = {
        "foreground_dice": overlap.dice(int(np.count_nonzero(truth_fg)), int(np.count_nonzero(guess_fg)),
                                        int(np.count_nonzero(truth_fg & guess_fg))),
        "merged_dice": float(np.nanmean([row["merged_dice"] for row in rows])) if rows else float("nan"),
        "swap_fraction": swap_fraction,
        "hemisphere_swap": bool(swap_fraction > threshold),
    }
    return rows, summary
