"""Exact distance (mm) from far corners to the nearest corner of another surface.

Corners (flat indices on one corner grid) that ``surface``'s probe shells leave unmatched lie several
voxels from the other surface. Their nearest target corner is found exactly by whichever search costs
least: a k-d tree of the target corners for few queries, or else ``restricted_edt``'s distance transform of
the box holding the queries and the targets, computed only on the rows and lines the queries need.
Both give the Euclidean distance to the nearest corner, as DeepMind's distance transform finds it.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from bids_app.metrics import grid_points, restricted_edt

#: About how many box voxels the restricted distance transform handles in the time of one k-d tree query.
TRANSFORM_VOXELS_PER_QUERY = 100
#: ... and in the time the k-d tree takes to take in one target.
TRANSFORM_VOXELS_PER_TARGET = 6


def far_distances(sources: np.ndarray, targets: np.ndarray, shape, spacing) -> np.ndarray:
    """Exact distance (mm) from each flat corner index of ``sources`` to the nearest of ``targets``.

    Both are flat indices into a corner grid of ``shape``; ``targets`` must not be empty.
    """
    scale = np.asarray(spacing, dtype=np.float64)
    grid = np.asarray(shape, dtype=np.int64)
    source_points, source_low, source_extent = grid_points.points_in_box(sources, grid)
    target_points, target_low, target_extent = grid_points.points_in_box(targets, grid)
    low = np.minimum(source_low, target_low)
    extent = np.maximum(source_low + source_extent, target_low + target_extent) - low
    if not transform_pays(len(sources), len(targets), np.prod(extent)):
        return _tree_distances(source_points, target_points, scale)
    grid_points.shift(source_points, low)
    grid_points.shift(target_points, low)
    return np.sqrt(restricted_edt.squared_distances(source_points, target_points, extent, scale * scale,
                                                    (source_low - low, source_extent)))


def transform_pays(queries: int, targets: int, box_voxels: int) -> bool:
    """Whether the distance transform of a box costs less than a k-d tree of the targets and a query per
    source."""
    return queries * TRANSFORM_VOXELS_PER_QUERY + targets * TRANSFORM_VOXELS_PER_TARGET >= box_voxels


def _tree_distances(source_points: np.ndarray, target_points: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Distances (mm) to the nearest target by one single-threaded k-d tree query per source."""
    tree = cKDTree(target_points * scale, leafsize=32, balanced_tree=False, compact_nodes=False)
    return tree.query(source_points * scale, k=1, workers=1)[0]
