"""Structure volumes of a label map.

>>> import numpy as np
>>> volumes(np.array([[[0, 17], [17, 53]]]), (1.0, 1.0, 2.0), [17, 53, 10])
{17: 4.0, 53: 2.0, 10: 0.0}
"""

from __future__ import annotations

import numpy as np


def volumes(label_map: np.ndarray, spacing, labels) -> dict[int, float]:
    """Volume in mm^3 of each of ``labels`` (0 for a label absent from the map)."""
    voxel_mm3 = float(np.prod(spacing))
    counts = np.bincount(np.asarray(label_map).ravel(order="K"))
    return {int(label): float(counts[label]) * voxel_mm3 if 0 <= label < len(counts) else 0.0
            for label in (int(label) for label in labels)}
