"""brainchop's volume handling around the network: intensities, cropping to a mask, cleaning the output.

>>> import numpy as np
>>> mask = np.zeros((10, 10, 10), bool); mask[4:6, 2:3, 7:9] = True
>>> bounding_box(mask, padding=3)
(slice(1, 9, None), slice(0, 6, None), slice(4, 10, None))
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Percentile of all voxels taken as the background level (the zero of the 0..255 scale).
BACKGROUND_PERCENTILE = 0.5
#: Percentile of the head (voxels above the background level) mapped to 255.
HEAD_PERCENTILE = 99.9
#: Interpolation noise tolerated before truncating (a uint8 value resampled onto its own grid as 99.99999).
_TRUNCATION_SLACK = 1e-3


def uint8_intensities(data: np.ndarray, source: str = "image") -> np.ndarray:
    """0..255 integer intensities, as float32, scaled from robust percentiles rather than min/max.

    The background level (:data:`BACKGROUND_PERCENTILE` of all voxels) becomes 0 and the
    :data:`HEAD_PERCENTILE` of the voxels above it becomes 255 (FreeSurfer's and niivue's conform clip at
    99.9 % of non-zero voxels too); values are clipped, then truncated to integers like brainchop's
    ``Uint8Array``. A background offset or a global scale factor does not change the result, nor do a few
    negative voxels or spikes at the int16 extremes.
    """
    data = np.asarray(data, dtype=np.float32)
    low = float(np.percentile(data, BACKGROUND_PERCENTILE))
    head = data[data > low]
    if head.size == 0:
        raise ValueError(f"{source}: the image is constant ({low}) apart from a few voxels; nothing to segment")
    high = float(np.percentile(head, HEAD_PERCENTILE))
    scaled = np.clip((data - low) * np.float32(255.0 / (high - low)), 0, 255)
    return np.floor(scaled + _TRUNCATION_SLACK).astype(np.float32)


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
