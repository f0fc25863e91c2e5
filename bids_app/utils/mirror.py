"""Test-time flip: segment the head mirrored along the subject's left-right axis as well, and compare.

The mirrored pass's posteriors are flipped back along the same voxel axis and each Left/Right homolog's
channel is swapped (:func:`bids_app.labels.flip_permutation`), so they describe the unmirrored head; the
average of both passes gives the labels. The per-structure Dice between the plain pass's labels and the
mirrored pass's labels is a self-consistency score that needs no reference: a network that sees the same
head mirrored should draw the same structures.

>>> left_right_axis(np.diag([1, 1, 1, 1])), left_right_axis(np.array([[0, 0, -1, 0], [1, 0, 0, 0],
...     [0, 1, 0, 0], [0, 0, 0, 1]]))
(0, 2)
"""

from __future__ import annotations

import nibabel as nb
import numpy as np

from ..labels import LABELS, SUBCORTICAL, flip_permutation

#: Dice between the plain and the mirrored pass below which a structure is flagged. On the real sample
#: heads MeshNet's passes agree at 0.90-0.97 per subcortical structure (see the README's accuracy section);
#: 0.75 is well below that and about where a structure's two passes stop drawing the same shape.
SELF_CONSISTENCY_THRESHOLD = 0.75


def left_right_axis(affine) -> int:
    """The voxel axis that runs left-right, read from the orientation of ``affine``."""
    return [code in "LR" for code in nb.aff2axcodes(affine)].index(True)


def unmirror_posteriors(posteriors: np.ndarray, labels, axis: int) -> np.ndarray:
    """Posteriors (C, X, Y, Z) of the mirrored head as posteriors of the head itself.

    Flipped back along voxel ``axis`` and with each channel taking its Left/Right homolog's map; ``labels``
    are the FreeSurfer numbers of the channels.
    """
    return np.flip(posteriors, axis + 1)[flip_permutation(labels)]


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
