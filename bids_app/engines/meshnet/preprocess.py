"""brainchop's volume handling around the network: intensities, cropping to a mask, cleaning the output.

>>> import numpy as np
>>> mask = np.zeros((10, 10, 10), bool); mask[4:6, 2:3, 7:9] = True
>>> bounding_box(mask, padding=3)
(slice(1, 9, None), slice(0, 6, None), slice(4, 10, None))
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: niivue's conform (FastSurfer's ``getscale``): intensities above this fraction of non-zero voxels clip.
UPPER_FRACTION = 0.999
_HISTOGRAM_BINS = 1000
#: Interpolation noise tolerated before truncating (a uint8 value resampled onto its own grid as 99.99999).
_TRUNCATION_SLACK = 1e-3


def uint8_intensities(data: np.ndarray) -> np.ndarray:
    """The 0..255 integer intensities brainchop's conformed volume holds, as float32.

    Data already in 0..255 keep their values (niivue leaves uint8 images unscaled); other data are rescaled
    as niivue's ``conform`` does (FastSurfer's robust 0 to 99.9 % range). Values are then truncated to
    integers, like brainchop's ``Uint8Array``, allowing for float noise just below an integer.
    """
    data = np.asarray(data, dtype=np.float64)
    low, high = float(data.min()), float(data.max())
    if low < 0 or high > 255 or high <= 1:
        low, scale = _robust_scale(data, low, high)
        data = np.clip((data - low) * scale, 0, 255)
    return np.floor(data + _TRUNCATION_SLACK).astype(np.float32)


def _robust_scale(data: np.ndarray, low: float, high: float) -> tuple[float, float]:
    if high == low:
        return low, 1.0
    bin_size = (high - low) / _HISTOGRAM_BINS
    bins = np.minimum(((data - low) / bin_size).astype(np.int64), _HISTOGRAM_BINS - 1)
    cumulative = np.cumsum(np.bincount(bins.ravel(), minlength=_HISTOGRAM_BINS))
    nonzero = np.count_nonzero(np.abs(data) >= 1e-15)
    wanted = data.size - int((1.0 - UPPER_FRACTION) * nonzero)
    reached = np.flatnonzero(cumulative[1:] >= wanted)
    upper = low + bin_size * (reached[0] if reached.size else _HISTOGRAM_BINS - 1)
    return low, (255.0 / (upper - low) if upper > low else 1.0)


def min_max(data: np.ndarray, source: str = "image") -> np.ndarray:
    """Scale to 0..1 (brainchop's ``minMaxNormalizeVolumeData``), float32."""
    data = np.asarray(data, dtype=np.float32)
    low, high = data.min(), data.max()
    if high == low:
        raise ValueError(f"{source}: the image is constant ({low}); nothing to segment")
    return (data - low) / (high - low)


def bounding_box(mask: np.ndarray, padding: int) -> tuple[slice, ...]:
    """Slices around the non-zero voxels of ``mask``, widened by ``padding`` within the volume."""
    extent = ndimage.find_objects(mask.astype(np.uint8))
    if not extent:
        raise ValueError("the mask to crop to is empty")
    return tuple(
        slice(max(0, axis.start - padding), min(size, axis.stop + padding))
        for axis, size in zip(extent[0], mask.shape)
    )


def largest_component(labels: np.ndarray) -> np.ndarray:
    """``labels`` with everything outside the largest 26-connected non-zero cluster set to 0.

    brainchop's post-processing (``BWLabeler.bwlabel`` with ``binarize`` and largest cluster only).
    """
    clusters, count = ndimage.label(labels != 0, structure=np.ones((3, 3, 3), bool))
    if count <= 1:
        return labels
    sizes = np.bincount(clusters.ravel())
    sizes[0] = 0
    return np.where(clusters == sizes.argmax(), labels, 0).astype(labels.dtype, copy=False)
