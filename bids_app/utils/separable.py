"""Cubic B-spline resampling along the voxel axes, one axis at a time.

When the target grid's axes are the source's (a scale and shift per axis, as :func:`~bids_app.utils.conform
.conform` makes), a 3D cubic spline factorises into three 1D ones: four taps per output sample and axis,
applied as sparse matrices, instead of 64 per output voxel. Same values as ``scipy.ndimage.affine_transform``
with ``order=3, mode="grid-constant"`` (prefiltered).

>>> import numpy as np
>>> from scipy import ndimage
>>> data = np.random.default_rng(0).random((9, 8, 7)).astype(np.float32)
>>> scale, shift, shape = np.array([0.8, 1.1, 1.3]), np.array([0.4, -1.0, 0.25]), (11, 8, 6)
>>> direct = ndimage.affine_transform(data, scale, shift, output_shape=shape, order=3, mode="grid-constant")
>>> bool(np.allclose(cubic_along_axes(data, scale, shift, shape), direct, atol=1e-5))
True
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse


#: Zeros added around the input before prefiltering (scipy's ``_prepad_for_spline_filter``).
_PAD = 12


def _bspline3(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    return np.where(t < 1, 2 / 3 - t**2 + t**3 / 2, np.where(t < 2, (2 - t) ** 3 / 6, 0.0))


def _axis_matrix(n_out: int, n_in: int, scale: float, shift: float) -> sparse.csr_matrix:
    """Weights (n_out x n_in) of the cubic B-spline at input positions ``scale * i + shift``."""
    positions = scale * np.arange(n_out) + shift
    base = np.floor(positions).astype(int)
    rows, cols, weights = [], [], []
    for tap in range(-1, 3):
        index = base + tap
        inside = (index >= 0) & (index < n_in)
        rows.append(np.flatnonzero(inside))
        cols.append(index[inside])
        weights.append(_bspline3(positions[inside] - index[inside]))
    return sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n_out, n_in))


def cubic_along_axes(data: np.ndarray, scale, shift, shape) -> np.ndarray:
    """``out[i] = spline(data)[scale * i + shift]`` per axis (float32), zero beyond the input's edges."""
    padded = np.pad(np.asarray(data, np.float32), _PAD)  # zeros beyond the edges, as scipy pads them
    values = ndimage.spline_filter(padded, order=3, mode="grid-constant", output=np.float32)
    for axis in range(3):
        matrix = _axis_matrix(int(shape[axis]), values.shape[axis], float(scale[axis]), float(shift[axis]) + _PAD)
        moved = np.moveaxis(values, axis, 0)
        flat = matrix @ moved.reshape(moved.shape[0], -1)
        values = np.moveaxis(np.asarray(flat, np.float32).reshape((int(shape[axis]),) + moved.shape[1:]), 0, axis)
    return np.ascontiguousarray(values)
