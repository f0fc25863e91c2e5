"""Labels on another grid from posteriors: each resampled linearly onto it, then an argmax there.

Nearest neighbour on a label map moves boundaries by up to half a voxel of the coarser grid and loses thin
structures; SynthSeg and FastSurfer resample posteriors instead. One posterior is resampled at a time, onto
the part of the target grid that the source box covers, so memory stays at two target volumes plus one
posterior.
"""

from __future__ import annotations

from collections.abc import Iterable

import nibabel as nb
import numpy as np

from .conform import resample_to_grid


def covering_box(shape, affine, reference: nb.spatialimages.SpatialImage) -> tuple[slice, ...] | None:
    """Slices of ``reference``'s grid that cover the grid (``shape``, ``affine``), or None if they do not meet."""
    corners = np.array([[i, j, k, 1.0] for i in (-1, shape[0]) for j in (-1, shape[1]) for k in (-1, shape[2])])
    voxels = (np.linalg.inv(reference.affine) @ affine @ corners.T)[:3]
    start = np.maximum(np.floor(voxels.min(1)).astype(int), 0)
    stop = np.minimum(np.ceil(voxels.max(1)).astype(int) + 1, reference.shape[:3])
    if np.any(stop <= start):
        return None
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))


def soft_labels(posteriors: Iterable[tuple[int, np.ndarray]], affine, reference: nb.spatialimages.SpatialImage,
                dtype=np.int16) -> np.ndarray:
    """Argmax on ``reference``'s grid of ``(label, posterior)`` maps that lie on the grid ``affine``.

    Voxels of ``reference`` that no posterior reaches (outside the source grid) are 0.
    """
    best = np.zeros(reference.shape[:3], np.float32)
    labels = np.zeros(reference.shape[:3], dtype)
    for label, posterior in posteriors:
        box = covering_box(posterior.shape, affine, reference)
        if box is None:
            continue
        box_affine = reference.affine.copy()
        box_affine[:3, 3] = reference.affine[:3, :3] @ [s.start for s in box] + reference.affine[:3, 3]
        shape = tuple(s.stop - s.start for s in box)
        values = np.asanyarray(resample_to_grid(nb.Nifti1Image(posterior.astype(np.float32, copy=False), affine),
                                                shape, box_affine, order=1).dataobj)
        better = values > best[box]
        best[box][better] = values[better]
        labels[box][better] = label
    return labels
