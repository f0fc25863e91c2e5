"""Left-right mirroring that keeps hemispheres right: flip, then swap each Left label with its Right homolog.

Plain nnU-Net mirroring flips the labels with the image, so the structure that lands on the right keeps its
``Left-`` label (MIC-DKFZ/nnUNet#869). Mirroring the anatomy and swapping homologous labels gives the labels
the mirrored head really has. The same swap applies to output channels at test time.
"""

from __future__ import annotations

import numpy as np


def hemisphere_mirror(image: np.ndarray, labels: np.ndarray, axis: int, permutation):
    """Mirror ``image`` and ``labels`` (consecutive indices) along ``axis``, swapping homologous labels
    (``permutation``: :func:`bids_app.labels.flip_permutation` of the labels' FreeSurfer numbers)."""
    return np.flip(image, axis), np.asarray(permutation)[np.flip(labels, axis)]
