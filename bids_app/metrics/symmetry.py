"""Left/right agreement: Dice of merged homologous pairs, foreground Dice, and the left/right confusion.

A model that gets the shapes right but the sides swapped (mirroring, MIC-DKFZ/nnUNet#869) scores a high
merged Dice, a low per-label Dice, and a large swap fraction.
"""

from __future__ import annotations

import numpy as np

from bids_app.labels import LABELS, homologous_pairs, structure_name
from bids_app.metrics import overlap
from bids_app.utils.compiled import compiled

#: Default swap fraction above which a subject is flagged as a hemisphere swap.
SWAP_THRESHOLD = 0.5
#: Columns of the per-pair counts: reference voxels left and right, the prediction's voxels of the pair, the
#: voxels both give the pair, reference-left voxels predicted right and reference-right predicted left.
_REFERENCE_LEFT, _REFERENCE_RIGHT, _PREDICTED, _COMMON, _LEFT_AS_RIGHT, _RIGHT_AS_LEFT = range(6)


def _in_memory_order(reference: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both maps flat, voxel for voxel, without a copy when they share a layout (as NIfTI files load)."""
    order = "F" if reference.flags.f_contiguous and prediction.flags.f_contiguous else "C"
    return np.ravel(reference, order=order), np.ravel(prediction, order=order)


def _tables(pairs, labels, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label number below ``size``: its pair's index (-1: none), its side (0 left, 1 right), whether it
    is one of ``labels``."""
    pair_of, side_of, chosen = np.full(size, -1, np.int64), np.zeros(size, np.int64), np.zeros(size, np.bool_)
    for index, (left, right) in enumerate(pairs):
        pair_of[[left, right]], side_of[right] = index, 1
    chosen[list(labels)] = True
    return pair_of, side_of, chosen


@compiled
def _confusion(truth, guess, pair_of, side_of, chosen, pairs):
    """One pass over both maps: the per-pair counts (columns as above) and the foreground counts (reference,
    prediction, both), updated once per run of voxels that hold the same two labels."""
    counts, foreground = np.zeros((pairs, 6), np.int64), np.zeros(3, np.int64)
    size, index = len(pair_of), 0
    while index < len(truth):
        t, g, start = truth[index], guess[index], index
        index += 1
        while index < len(truth) and truth[index] == t and guess[index] == g:
            index += 1
        run = index - start
        t_known, g_known = 0 <= t < size, 0 <= g < size
        t_chosen, g_chosen = t_known and chosen[t], g_known and chosen[g]
        foreground[0] += run * t_chosen
        foreground[1] += run * g_chosen
        foreground[2] += run * (t_chosen and g_chosen)
        t_pair = pair_of[t] if t_known else -1
        g_pair = pair_of[g] if g_known else -1
        if g_pair >= 0:
            counts[g_pair, _PREDICTED] += run
        if t_pair >= 0:
            counts[t_pair, side_of[t]] += run
            if g_pair == t_pair:
                counts[t_pair, _COMMON] += run
                if side_of[g] != side_of[t]:
                    counts[t_pair, _LEFT_AS_RIGHT + side_of[t]] += run
    return counts, foreground


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def symmetry(reference: np.ndarray, prediction: np.ndarray, labels, threshold: float = SWAP_THRESHOLD):
    """Per-pair rows and one subject summary of left/right agreement over ``labels``.

    Returns ``(pairs, summary)``: ``pairs`` lists, per homologous pair present, the structure name, the
    two labels, the merged Dice and the fractions ``left_as_right`` (reference-left voxels labelled as
    the right homolog) and ``right_as_left``; ``summary`` holds ``foreground_dice`` (any of ``labels``
    against background), ``merged_dice`` (mean over pairs), ``swap_fraction`` (swapped voxels over all
    reference voxels of the pairs) and ``hemisphere_swap`` (swap fraction above ``threshold``). Both maps are
    read once, together.
    """
    if reference.shape != prediction.shape:  # the compiled pass reads both voxel for voxel
        raise ValueError(f"label maps differ in shape: {reference.shape} and {prediction.shape}")
    labels = sorted(int(label) for label in labels if int(label) in LABELS)
    pairs = homologous_pairs(labels)
    truth, guess = _in_memory_order(reference, prediction)
    counts, foreground = _confusion(truth, guess, *_tables(pairs, labels, max(labels, default=0) + 1), len(pairs))
    rows = []
    for (left, right), pair in zip(pairs, counts):
        if not pair[_REFERENCE_LEFT] + pair[_REFERENCE_RIGHT] + pair[_PREDICTED]:
            continue  # in neither map
        rows.append({
            "structure": structure_name(LABELS[left].name), "left_label": left, "right_label": right,
            "merged_dice": overlap.dice(int(pair[_REFERENCE_LEFT] + pair[_REFERENCE_RIGHT]), int(pair[_PREDICTED]),
                                        int(pair[_COMMON])),
            "left_as_right": _fraction(int(pair[_LEFT_AS_RIGHT]), int(pair[_REFERENCE_LEFT])),
            "right_as_left": _fraction(int(pair[_RIGHT_AS_LEFT]), int(pair[_REFERENCE_RIGHT])),
        })
    swapped = int(counts[:, _LEFT_AS_RIGHT].sum() + counts[:, _RIGHT_AS_LEFT].sum())
    paired = int(counts[:, _REFERENCE_LEFT].sum() + counts[:, _REFERENCE_RIGHT].sum())
    swap_fraction = _fraction(swapped, paired)
    summary = {
        "foreground_dice": overlap.dice(*(int(count) for count in foreground)),
        "merged_dice": float(np.nanmean([row["merged_dice"] for row in rows])) if rows else float("nan"),
        "swap_fraction": swap_fraction,
        "hemisphere_swap": bool(swap_fraction > threshold),
    }
    return rows, summary
