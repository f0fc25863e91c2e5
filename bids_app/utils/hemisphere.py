"""What nnU-Net trainers and the nnU-Net engine agree on for hemisphere-aware left-right mirroring."""

from __future__ import annotations

#: Plans key (top level) that marks a model trained and used with hemisphere-aware mirroring.
PLANS_KEY = "subseg_hemisphere_aware_mirroring"


def network_left_right_axis(transpose_forward) -> int:
    """The network axis that runs left-right for a RAS image after nnU-Net's reader and transpose.

    The reader puts RAS x (left-right) last, as (z, y, x); preprocessing then reorders axes by
    ``transpose_forward``.

    >>> network_left_right_axis([0, 1, 2]), network_left_right_axis([2, 0, 1])
    (2, 0)
    """
    return list(transpose_forward).index(2)
