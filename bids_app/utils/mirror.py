"""Test-time flip: segment the head mirrored along the subject's left-right axis as well, and compare.

The mirrored pass sums each class's posterior into its Left/Right homolog's channel
(:func:`bids_app.labels.flip_permutation`) and is flipped back along the same voxel axis, so it describes the
unmirrored head; the average of both passes gives the labels. The per-structure Dice between the plain
pass's labels and the mirrored pass's labels is a self-consistency score that needs no reference: a network
that sees the same head mirrored should draw the same structures.

>>> left_right_axis(np.diag([1, 1, 1, 1]))
0
>>> left_right_axis(np.array([[0, 0, -1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]))
2
"""

from __future__ import annotations

import nibabel as nb
import numpy as np

from ..labels import LABELS, SUBCORTICAL, flip_permutation

#: Dice between the plain and the mirrored pass below which a structure is flagged. On the two labelled
#: sample heads MeshNet's passes agree at 0.46-0.89 per subcortical structure (median 0.83; the small
#: pallidum and accumbens lowest); 0.3 is well below any of them: the passes no longer draw the same structure.
SELF_CONSISTENCY_THRESHOLD = 0.3


def left_right_axis(affine) -> int:
    """The voxel axis that runs left-right, read from the orientation of ``affine``."""
    return [code in "LR" for code in nb.aff2axcodes(affine)].index(True)


def mirrored_groups(groups, labels) -> np.ndarray:
    """For the mirrored pass: the output channel each network class adds to, its homolog's channel.

    ``groups`` holds each class's output channel for the plain pass, ``labels`` the FreeSurfer number of each
    output channel. Summed this way, the mirrored pass's posteriors describe the unmirrored head once flipped
    back along the left-right axis (:func:`add_unmirrored`); no channel needs copying afterwards.
    """
    return np.asarray(flip_permutation(labels))[np.asarray(groups)]


def add_unmirrored(posteriors: np.ndarray, mirrored: np.ndarray, axis: int, start: int = 0) -> slice:
    """Add ``mirrored`` (C, X, Y, Z), grouped by :func:`mirrored_groups`, flipped back along voxel ``axis``,
    to ``posteriors`` in place; the planes along X that it went to.

    ``mirrored`` may be a slab of the mirrored pass: its planes ``start:start + len`` along X, so the mirrored
    pass never needs to be held whole.

    >>> posteriors = np.zeros((1, 4, 1, 1))
    >>> add_unmirrored(posteriors, np.arange(2.0).reshape(1, 2, 1, 1), axis=0, start=1)
    slice(1, 3, None)
    >>> posteriors.ravel().tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    depth, planes = posteriors.shape[1], mirrored.shape[1]
    first = depth - start - planes if axis == 0 else start
    target = posteriors[:, first:first + planes]
    target += np.flip(mirrored, axis + 1)
    return slice(first, first + planes)


def self_consistency(plain: np.ndarray, mirrored: np.ndarray, structures=SUBCORTICAL) -> dict:
    """Sidecar field ``SelfConsistency``: per-structure Dice between two label maps, threshold, flagged names.

    Structures absent from both maps get no score.
    """
    dice = {}
    for label in structures:
        a, b = plain == label, mirrored == label
        total = int(a.sum()) + int(b.sum())
        if total:
            dice[LABELS[label].name] = round(2.0 * int(np.logical_and(a, b).sum()) / total, 4)
    flagged = [name for name, value in dice.items() if value < SELF_CONSISTENCY_THRESHOLD]
    return {"Dice": dice, "Threshold": SELF_CONSISTENCY_THRESHOLD, "Flagged": flagged}


def self_consistency_flags(field: dict | None) -> list[str]:
    """One QualityFlags sentence per structure whose two passes disagree (none without the field)."""
    if not field:
        return []
    return [f"{name}: the plain and the mirrored pass agree only at Dice {field['Dice'][name]:.2f} (self-"
            f"consistency threshold {field['Threshold']})" for name in field.get("Flagged", [])]
