"""Exact distance (mm) from corners to the nearest corner of another surface, when it lies within a few voxels.

Each corner probes the other surface's corner map at the grid offsets within ``NEAR_VOXELS`` voxels (of the
coarsest axis), shell by shell, nearest first: the first shell with a hit gives the distance. A corner
whose block of the coarse grid (blocks as large as the probes reach) and its 26 neighbouring blocks hold no
corner of the other surface is beyond every probe and skips them. Corners left unmatched (inf) go to
``far_search``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bids_app.metrics import grid_points
from bids_app.utils.compiled import compiled

#: Radius (in voxels of the coarsest axis) of the probed offsets.
NEAR_VOXELS = 3


@lru_cache(maxsize=16)
def shells(spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid offsets within ``NEAR_VOXELS`` voxels, nearest first: (offsets (K, 3), length in mm of each, and
    the largest offset per axis).

    >>> offsets, lengths, reach = shells((1.0, 1.0, 2.0))
    >>> len(offsets), float(lengths[1]), reach.tolist()
    (455, 1.0, [6, 6, 3])
    """
    scale = np.asarray(spacing, dtype=np.float64)
    radius = NEAR_VOXELS * scale.max()
    bound = np.ceil(radius / scale).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-b, b + 1) for b in bound], indexing="ij"), axis=-1).reshape(-1, 3)
    lengths = np.sqrt(np.sum((grid * scale) ** 2, axis=1))
    within = lengths <= radius
    order = np.argsort(lengths[within], kind="stable")
    offsets = grid[within][order]
    return offsets, lengths[within][order], np.abs(offsets).max(axis=0)


def probe_margin(spacing) -> tuple[int, ...]:
    """Background voxels needed on each side of a mask so that every probe stays on its corner grid."""
    _, _, reach = shells(tuple(float(s) for s in spacing))
    return tuple(int(r) + 1 for r in reach)


def blocks_near(targets: np.ndarray, shape, spacing) -> np.ndarray:
    """Coarse blocks (as large as the probes reach, at +1 per axis) holding a corner of ``targets`` (flat
    indices on a corner grid of ``shape``) or next to one: the only blocks whose corners may find a hit."""
    _, _, reach = shells(tuple(float(s) for s in spacing))
    return _occupied_blocks(targets, np.asarray(shape, dtype=np.int64), _block(reach))


def near_distances(sources: np.ndarray, target_border: np.ndarray, near: np.ndarray | None, spacing
                   ) -> np.ndarray:
    """Distance (mm) from each flat corner index of ``sources`` to the nearest corner of ``target_border``
    within the probed offsets (inf beyond); ``near``: that map's ``blocks_near``, or None to probe every
    source at every offset (for a few sources, cheaper than making the blocks).

    Both surfaces must lie ``probe_margin`` corners inside the map, so that every probe stays on it.
    """
    offsets, lengths, reach = shells(tuple(float(s) for s in spacing))
    shape = np.asarray(target_border.shape, dtype=np.int64)
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    block = _block(reach)
    if near is None:  # one block holding the whole map, next to an occupied one
        block, near = shape + 1, np.ones((3, 3, 3), np.uint8)
    return _probe(sources, target_border.ravel().view(np.uint8), shape, offsets @ strides, lengths, block, near)


def _block(reach: np.ndarray) -> np.ndarray:
    """Size (corners per axis) of the coarse blocks: as far as the probes reach, at least one."""
    return np.maximum(reach, 1).astype(np.int64)


@compiled
def _block_of(shape, block):
    """Block index (at +1) of each coordinate along each axis: (3, longest axis), a lookup instead of a
    division per corner."""
    indices = np.zeros((3, shape.max()), np.int64)
    for axis in range(3):
        for coordinate in range(shape[axis]):
            indices[axis, coordinate] = coordinate // block[axis] + 1
    return indices


@compiled
def _occupied_blocks(targets, shape, block):
    held = np.zeros((shape[0] // block[0] + 3, shape[1] // block[1] + 3, shape[2] // block[2] + 3), np.uint8)
    block_of, target_points = _block_of(shape, block), grid_points.points(targets, shape)
    for index in range(len(targets)):
        held[block_of[0, target_points[index, 0]], block_of[1, target_points[index, 1]],
             block_of[2, target_points[index, 2]]] = 1
    occupied = np.zeros_like(held)  # held blocks and their neighbours: the maximum over 3 blocks, per axis
    for i in range(1, held.shape[0] - 1):
        for j in range(held.shape[1]):
            for k in range(held.shape[2]):
                occupied[i, j, k] = held[i - 1, j, k] | held[i, j, k] | held[i + 1, j, k]
    for i in range(held.shape[0]):
        for j in range(1, held.shape[1] - 1):
            for k in range(held.shape[2]):
                held[i, j, k] = occupied[i, j - 1, k] | occupied[i, j, k] | occupied[i, j + 1, k]
    for i in range(held.shape[0]):
        for j in range(held.shape[1]):
            for k in range(1, held.shape[2] - 1):
                occupied[i, j, k] = held[i, j, k - 1] | held[i, j, k] | held[i, j, k + 1]
    return occupied


@compiled
def _probe(sources, border, shape, flat_offsets, lengths, block, occupied):
    distances = np.full(len(sources), np.inf)
    block_of, source_points = _block_of(shape, block), grid_points.points(sources, shape)
    for index in range(len(sources)):
        if not occupied[block_of[0, source_points[index, 0]], block_of[1, source_points[index, 1]],
                        block_of[2, source_points[index, 2]]]:
            continue
        for probe in range(len(flat_offsets)):
            if border[sources[index] + flat_offsets[probe]]:
                distances[index] = lengths[probe]
                break
    return distances
