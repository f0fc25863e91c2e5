"""What every engine returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import nibabel as nb


@dataclass
class Segmentation:
    """An engine's result on the grid of the image it was given.

    ``labels`` holds FreeSurfer label numbers (integers). ``probabilities`` maps FreeSurfer label numbers to
    posterior maps on the same grid, when the engine was asked for them. ``masks`` holds extra binary images
    by description (``{"brain": mask}``). ``provenance`` goes into the sidecar JSON (keys in BIDS CamelCase:
    ``Engine``, ``Model``, ``ModelSHA256``, ``Folds``, ``Device`` ...).
    """

    labels: nb.Nifti1Image
    provenance: dict
    probabilities: dict[int, nb.Nifti1Image] = field(default_factory=dict)
    masks: dict[str, nb.Nifti1Image] = field(default_factory=dict)
