"""Voxel count of every label of a label map, and the box each label spans, in one compiled pass over memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bids_app.utils.compiled import compiled


def label_counts(label_map: np.ndarray) -> np.ndarray:
    """``np.bincount`` of a non-negative integer map, read in memory order without the copy to 64-bit
    integers that ``np.bincount`` makes.

    >>> label_counts(np.array([[0, 17], [17, 2]], dtype=np.int16)).tolist()[15:]
    [0, 0, 2]
    """
    values = np.ravel(label_map, order="K")
    if values.size and values.min() < 0:
        raise ValueError("label map holds negative labels")
    counts = np.zeros(int(values.max()) + 1 if values.size else 0, np.int64)
    _counts(values, counts)  # zeros from NumPy are untouched pages until written
    return counts


@dataclass(frozen=True)
class LabelExtents:
    """Voxel count of every label value of a 3D map, and the first and last-plus-one index it reaches along
    each axis (``lows``, ``highs``: one row per value, zero for absent values)."""

    counts: np.ndarray
    lows: np.ndarray
    highs: np.ndarray

    def boxes(self, labels) -> dict[int, tuple[slice, ...]]:
        """Bounding box of each of ``labels`` (non-zero) present in the map."""
        return {int(label): tuple(slice(int(low), int(high)) for low, high in zip(self.lows[label],
                                                                                 self.highs[label]))
                for label in labels if 0 < int(label) < len(self.counts) and self.counts[label]}

    def moved(self, label: int, into: int) -> LabelExtents:
        """These extents once every voxel of ``label`` is relabelled ``into``."""
        counts, lows, highs = self.counts.copy(), self.lows.copy(), self.highs.copy()
        if counts[label]:
            if counts[into]:
                lows[into], highs[into] = np.minimum(lows[into], lows[label]), np.maximum(highs[into], highs[label])
            else:
                lows[into], highs[into] = lows[label], highs[label]
            counts[into] += counts[label]
            counts[label], lows[label], highs[label] = 0, 0, 0
        return LabelExtents(counts, lows, highs)


def label_extents(label_map: np.ndarray) -> LabelExtents:
    """:class:`LabelExtents` of a non-negative integer 3D map, read in memory order (a Fortran-ordered map
    through its transpose).

    >>> extents = label_extents(np.pad(np.full((2, 3, 1), 17, np.int16), 1))
    >>> int(extents.counts[17]), extents.boxes([17, 53])
    (6, {17: (slice(1, 3, None), slice(1, 4, None), slice(1, 2, None))})
    """
    if label_map.ndim != 3:
        raise ValueError(f"label map must be 3D, got shape {label_map.shape}")
    fortran = label_map.flags.f_contiguous and not label_map.flags.c_contiguous
    values = np.ascontiguousarray(label_map.T if fortran else label_map)
    if values.size and values.min() < 0:
        raise ValueError("label map holds negative labels")
    rows = int(values.max()) + 1 if values.size else 1
    counts, lows, highs = np.zeros(rows, np.int64), np.zeros((rows, 3), np.int64), np.zeros((rows, 3), np.int64)
    _extents(values, counts, lows, highs)  # zeros from NumPy are untouched pages until written
    return LabelExtents(counts, lows[:, ::-1], highs[:, ::-1]) if fortran else LabelExtents(counts, lows, highs)


@compiled
def _counts(values, counts):
    for value in values:
        counts[value] += 1


@compiled
def _extents(values, counts, lows, highs):
    """Adds to zeroed tables the counts and index ranges of every value of a C-ordered 3D map, by runs of
    equal values along its rows (one update per run, not per voxel). Only the rows of the values present are
    written: a stray huge label costs address space, not memory."""
    length = values.shape[2]
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            row, k = values[i, j], 0
            while k < length:
                value, start = row[k], k
                k += 1
                while k < length and row[k] == value:
                    k += 1
                if not counts[value]:  # first run of this value: it sets the box
                    lows[value, 0], lows[value, 1], lows[value, 2] = i, j, start
                counts[value] += k - start
                lows[value, 1], lows[value, 2] = min(lows[value, 1], j), min(lows[value, 2], start)
                highs[value, 0], highs[value, 1] = i + 1, max(highs[value, 1], j + 1)
                highs[value, 2] = max(highs[value, 2], k)
