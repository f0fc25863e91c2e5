"""Voxel count of every label of a label map, in one compiled pass over memory."""

from __future__ import annotations

import numpy as np

from bids_app.utils.compiled import compiled


def label_counts(label_map: np.ndarray) -> np.ndarray:
    """``np.bincount`` of a non-negative integer map, read in memory order without the copy to 64-bit
    integers that ``np.bincount`` makes.

    >>> label_counts(np.array([[0, 17], [17, 2]], dtype=np.int16)).tolist()[15:]
    [0, 0, 2]
    """
    return _counts(np.ravel(label_map, order="K"))


@compiled
def _counts(values):
    if not len(values):
        return np.zeros(0, np.int64)
    low, high = values.min(), values.max()
    if low < 0:
        raise ValueError("label map holds negative labels")
    counts = np.zeros(high + 1, np.int64)
    for value in values:
        counts[value] += 1
    return counts
