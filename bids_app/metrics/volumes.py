"""Structure volumes of a label map, from its label counts (``label_counts``, or ``np.bincount``).

>>> import numpy as np
>>> volumes(np.bincount([0, 17, 17, 53]), (1.0, 1.0, 2.0), [17, 53, 10])
{17: 4.0, 53: 2.0, 10: 0.0}

Volumes are voxel counts times the voxel volume, rounded to 0.01 mm^3; voxel sizes are taken to 6 decimals,
as the float32 NIfTI header stores them (1.2 mm, not 1.2000000476837158 mm):

>>> volumes(np.bincount(np.full(3646, 17)), np.float32([1.0, 1.0, 1.0]), [17])
{17: 3646.0}
>>> volumes(np.bincount(np.full(3, 17)), np.float32([1.2, 1.0, 1.4]), [17])
{17: 5.04}
"""

from __future__ import annotations

import numpy as np


def voxel_volume_mm3(spacing) -> float:
    """The volume of one voxel of ``spacing`` (mm), each size taken to 6 decimals."""
    return float(np.prod(np.round(np.asarray(spacing, dtype=np.float64), 6)))


def volume_mm3(voxels, voxel_mm3: float):
    """``voxels`` times the voxel volume, to 0.01 mm^3."""
    return np.round(np.asarray(voxels, dtype=np.float64) * voxel_mm3, 2)


def volumes(counts: np.ndarray, spacing, labels) -> dict[int, float]:
    """Volume in mm^3 of each of ``labels`` (0 for a label absent from the map), from the map's label counts."""
    voxel_mm3 = voxel_volume_mm3(spacing)
    return {int(label): float(volume_mm3(counts[label], voxel_mm3)) if 0 <= label < len(counts) else 0.0
            for label in (int(label) for label in labels)}
