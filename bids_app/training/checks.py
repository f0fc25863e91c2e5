"""Checks of the training inputs that fail before any training starts, each with a one-line message."""

from __future__ import annotations

import nibabel as nb
import numpy as np

from ..errors import SubsegError
from ..labels import LABELS


class TrainingError(SubsegError, ValueError):
    """The training inputs or settings cannot be used (one line naming the file or option)."""


def check_grid(t1w, labels) -> None:
    """Refuse a label map whose shape or affine differs from its T1w's (headers only)."""
    image, label_map = nb.load(str(t1w)), nb.load(str(labels))
    if image.shape[:3] != label_map.shape[:3] or not np.allclose(image.affine, label_map.affine, atol=1e-3):
        raise TrainingError(f"{labels}: not on the grid of {t1w} (shape {label_map.shape[:3]} vs "
                            f"{image.shape[:3]}, or a different affine); resample it onto the T1w")


def check_label_values(labels) -> None:
    """Refuse a label map holding numbers that are not FreeSurfer labels (a LUT other than FreeSurfer's?)."""
    values = np.unique(np.asanyarray(nb.load(str(labels)).dataobj))
    if not np.array_equal(values, np.round(values)):
        raise TrainingError(f"{labels}: not a label map (non-integer values)")
    unknown = sorted(int(value) for value in values if int(value) not in LABELS)
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise TrainingError(f"{labels}: label numbers {shown} are not in the FreeSurfer table")
