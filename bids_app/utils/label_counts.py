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
    return _counts(np.ravel(label_map, order="K"))


@dataclass(frozen=True)
class LabelExtents:
    """Voxel count of every label value of a 3D map, and the first and last-plus-one index it reaches along
    each axis (``lows``, ``highs``: one row per value; unset rows for absent values)."""

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
            counts[into] += counts[label]
            lows[into], highs[into] = np.minimum(lows[into], lows[label]), np.maximum(highs[into], highs[label])
            counts[label], lows[label], highs[label] = 0, _UNSET_LOW, 0
        return LabelExtents(counts, lows, highs)


#: Low index of a label value that no voxel holds (above any real index).
_UNSET_LOW = np.iinfo(np.int64).max


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
    counts, lows, highs = _extents(values, int(values.max()) if values.size else 0)
    if fortran:
        lows, highs = lows[:, ::-1].copy(), highs[:, ::-1].copy()
    return LabelExtents(counts, lows, highs)


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


@compiled
def _extents(values, top):
    """Counts and index ranges of every value of a C-ordered 3D map, by runs of equal values along its rows
    (one update per run, not per voxel)."""
    counts = np.zeros(top + 1, np.int64)
    lows, highs = np.full((top + 1, 3), _UNSET_LOW, np.int64), np.zeros((top + 1, 3), np.int64)
    length = values.shape[2]
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            row, k = values[i, j], 0
            while k < length:
                value, start = row[k], k
                k += 1
                while k < length and row[k] == value:
                    k += 1
                counts[value] += k - start
                lows[value, 0], highs[value, 0] = min(lows[value, 0], i), max(highs[value, 0], i + 1)
                lows[value, 1], highs[value, 1] = min(lows[value, 1], j), max(highs[value, 1], j + 1)
                lows[value, 2], highs[value, 2] = min(lows[value, 2], start), max(highs[value, 2], k)
    return counts, lows, highs
