"""Spikes: single corrupt voxels (at the int16 extremes, or a handful below zero) that are not anatomy.

>>> import numpy as np
>>> head = np.full((40, 40, 40), 100.0); head[1, 2, 3], head[4, 4, 4] = 32767, -5
>>> [tuple(int(i) for i in voxel) for voxel in np.argwhere(spike_mask(head))]
[(1, 2, 3), (4, 4, 4)]
"""

from __future__ import annotations

import numpy as np

#: A spike: a voxel whose magnitude exceeds this multiple of the 99.9th percentile of the non-zero magnitudes.
SPIKE_FACTOR = 2.0
#: Negative voxels are spikes too when they are at most this fraction of the image (a handful in an image that
#: is otherwise never below zero).
MAX_NEGATIVE_FRACTION = 1e-4


def spike_mask(data: np.ndarray) -> np.ndarray:
    """Where ``data`` holds a spike (see :data:`SPIKE_FACTOR` and :data:`MAX_NEGATIVE_FRACTION`)."""
    magnitudes = np.abs(data)
    nonzero = magnitudes[magnitudes != 0]
    if not nonzero.size:
        return np.zeros(data.shape, bool)
    spikes = magnitudes > SPIKE_FACTOR * np.percentile(nonzero, 99.9)
    negative = data < 0
    if np.count_nonzero(negative & ~spikes) <= MAX_NEGATIVE_FRACTION * data.size:
        spikes |= negative
    return spikes
