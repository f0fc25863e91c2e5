"""Overlap and volume agreement between a reference and a predicted mask.

>>> dice(10, 10, 5), dice(0, 4, 0), dice(0, 0, 0)
(0.5, 0.0, nan)
>>> relative_volume_difference(150.0, 100.0)
0.5
"""

from __future__ import annotations

import math


def dice(reference_voxels: int, prediction_voxels: int, common_voxels: int) -> float:
    """Dice similarity coefficient 2|R∩P| / (|R| + |P|); NaN when both masks are empty."""
    total = reference_voxels + prediction_voxels
    return 2.0 * common_voxels / total if total else math.nan


def absolute_volume_difference(prediction_mm3: float, reference_mm3: float) -> float:
    """|V_P - V_R| in mm^3; NaN when both are empty."""
    if prediction_mm3 == 0 and reference_mm3 == 0:
        return math.nan
    return abs(prediction_mm3 - reference_mm3)


def relative_volume_difference(prediction_mm3: float, reference_mm3: float) -> float:
    """Signed (V_P - V_R) / V_R; inf for an empty reference, NaN when both are empty."""
    if reference_mm3 == 0:
        return math.nan if prediction_mm3 == 0 else math.inf
    return (prediction_mm3 - reference_mm3) / reference_mm3
