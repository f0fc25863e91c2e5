"""Grid coordinates of flat indices into a C-ordered grid, without a division per index."""

from __future__ import annotations

import numpy as np

from bids_app.utils.compiled import compiled


@compiled
def points(flat, shape):
    """(N, 3) coordinates of the flat indices ``flat`` on a grid of ``shape``, walking its rows in order
    (fastest when ``flat`` ascends, as ``np.flatnonzero`` gives them).

    >>> points(np.array([0, 7, 29]), np.array([2, 3, 5])).tolist()
    [[0, 0, 0], [0, 1, 2], [1, 2, 4]]
    """
    return points_in_box(flat, shape)[0]


@compiled
def points_in_box(flat, shape):
    """``points`` of ``flat``, and the lowest corner and extent of the box holding them, in the same walk.

    >>> coordinates, low, extent = points_in_box(np.array([7, 29]), np.array([2, 3, 5]))
    >>> low.tolist(), extent.tolist()
    ([0, 1, 2], [2, 2, 3])
    """
    coordinates = np.empty((len(flat), 3), np.int64)
    low, high = np.full(3, np.iinfo(np.int64).max), np.full(3, -1)
    i = j = start = 0  # row (i, j) begins at flat index start
    low_j = low_k = np.iinfo(np.int64).max
    high_j = high_k = -1
    for index in range(len(flat)):
        if flat[index] < start:
            i = j = start = 0
        while flat[index] >= start + shape[2]:
            start += shape[2]
            j += 1
            if j == shape[1]:
                i, j = i + 1, 0
        k = flat[index] - start
        coordinates[index, 0], coordinates[index, 1], coordinates[index, 2] = i, j, k
        low[0], high[0] = min(low[0], i), max(high[0], i)
        low_j, high_j, low_k, high_k = min(low_j, j), max(high_j, j), min(low_k, k), max(high_k, k)
    low[1], low[2], high[1], high[2] = low_j, low_k, high_j, high_k
    return coordinates, low, high + 1 - low


@compiled
def box(*point_sets):
    """Lowest corner and extent of the box holding every point of the (N, 3) arrays given."""
    low, high = np.full(3, np.iinfo(np.int64).max), np.full(3, -1)
    for points_ in point_sets:
        for index in range(len(points_)):
            for axis in range(3):
                low[axis] = min(low[axis], points_[index, axis])
                high[axis] = max(high[axis], points_[index, axis])
    return low, high + 1 - low


@compiled
def shift(points_, offset):
    """Subtracts ``offset`` from every point of an (N, 3) array, in place (NumPy's broadcast would loop
    over rows of three).

    >>> moved = np.array([[3, 4, 5]]); shift(moved, np.array([1, 2, 3])); moved.tolist()
    [[2, 2, 2]]
    """
    for index in range(len(points_)):
        for axis in range(3):
            points_[index, axis] -= offset[axis]
