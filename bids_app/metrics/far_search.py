"""Exact distance (mm) from far corners to the nearest corner of another surface.

Corners (flat indices on one corner grid) that ``surface``'s probe shells leave unmatched lie several
voxels from the other surface. Their nearest target corner is found exactly by whichever search costs
least: a k-d tree of the target corners for few queries, or one distance transform of the box holding
the queries and the targets for many. On an isotropic grid that transform is ``edt``'s squared distance
transform in voxel units, whose values are integers held exactly in float32; on an anisotropic grid it is
SciPy's Euclidean feature transform (the nearest corner of every corner, as DeepMind's distance
transform finds it), whose float64 offsets give the distances.
"""

from __future__ import annotations

import edt
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

#: About how many voxels each distance transform handles in the time of one far k-d tree query.
TRANSFORM_VOXELS_PER_QUERY = {"squared": 48, "feature": 32}
#: Largest squared distance (voxel units) that float32 holds exactly.
_FLOAT32_EXACT = 2**24


def far_distances(sources: np.ndarray, targets: np.ndarray, shape, spacing) -> np.ndarray:
    """Exact distance (mm) from each flat corner index of ``sources`` to the nearest of ``targets``.

    Both are flat indices into a corner grid of ``shape``; ``targets`` must not be empty.
    """
    scale = np.asarray(spacing, dtype=np.float64)
    source_axes = np.unravel_index(sources, shape)  # one contiguous array per axis: fast min and max
    target_axes = np.unravel_index(targets, shape)
    low = np.array([min(s.min(), t.min()) for s, t in zip(source_axes, target_axes)])
    high = np.array([max(s.max(), t.max()) for s, t in zip(source_axes, target_axes)]) + 1
    transform = "squared" if squared_transform_is_exact(spacing, high - low) else "feature"
    if len(sources) * TRANSFORM_VOXELS_PER_QUERY[transform] < np.prod(high - low):
        return _tree_distances(np.stack(source_axes, axis=1), np.stack(target_axes, axis=1), scale)
    inside = np.ones(tuple(high - low), dtype=np.uint8)  # edt runs 1.5x faster on uint8 than on bool
    inside[tuple(t - origin for t, origin in zip(target_axes, low))] = 0
    local = tuple(s - origin for s, origin in zip(source_axes, low))
    if transform == "squared":
        squared = edt.edtsq(inside, anisotropy=(1.0, 1.0, 1.0), black_border=False, parallel=1)
        return scale[0] * np.sqrt(squared[local].astype(np.float64))
    nearest = ndimage.distance_transform_edt(inside, sampling=scale, return_distances=False, return_indices=True)
    offsets = (nearest[(slice(None), *local)] - np.stack(local)) * scale[:, None]
    return np.sqrt(np.add.reduce(offsets * offsets, axis=0))


def squared_transform_is_exact(spacing, box_shape) -> bool:
    """Whether ``edt``'s float32 squared distances are exact integers: isotropic spacing, small box.

    >>> squared_transform_is_exact((1.0, 1.0, 1.0), (256, 256, 256)), squared_transform_is_exact((1, 1, 2), (9, 9, 9))
    (True, False)
    """
    isotropic = len(set(float(s) for s in spacing)) == 1
    return isotropic and int(np.sum((np.asarray(box_shape, dtype=np.int64) - 1) ** 2)) < _FLOAT32_EXACT


def _tree_distances(source_points: np.ndarray, target_points: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Distances (mm) to the nearest target by one single-threaded k-d tree query per source."""
    tree = cKDTree(target_points * scale, leafsize=32, balanced_tree=False, compact_nodes=False)
    return tree.query(source_points * scale, k=1, workers=1)[0]
