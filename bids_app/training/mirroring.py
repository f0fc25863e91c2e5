"""Left-right mirroring that keeps hemispheres right: flip, then swap each Left label with its Right homolog.

Plain nnU-Net mirroring flips the labels with the image, so the structure that lands on the right keeps its
``Left-`` label (MIC-DKFZ/nnUNet#869). Mirroring the anatomy and swapping homologous labels gives the labels
the mirrored head really has. The same swap applies to output channels at test time.
"""

from __future__ import annotations

import numpy as np

from ..labels import homolog

#: Plans key (top level) that marks a model trained and used with hemisphere-aware mirroring.
PLANS_KEY = "subseg_hemisphere_aware_mirroring"


def homolog_permutation(freesurfer_labels) -> np.ndarray:
    """Output index -> output index of its other-hemisphere homolog (itself when it has none in the model).

    ``freesurfer_labels`` gives the FreeSurfer number of each output index (index 0 background).

    >>> homolog_permutation([0, 10, 49, 4]).tolist()
    [0, 2, 1, 3]
    """
    position = {int(label): index for index, label in enumerate(freesurfer_labels)}
    permutation = np.arange(len(position))
    for label, index in position.items():
        other = homolog(label) if label else None
        if other in position:
            permutation[index] = position[other]
    return permutation


def hemisphere_mirror(image: np.ndarray, labels: np.ndarray, axis: int, permutation: np.ndarray):
    """Mirror ``image`` and ``labels`` (consecutive indices) along ``axis``, swapping homologous labels."""
    return np.flip(image, axis), permutation[np.flip(labels, axis)]
