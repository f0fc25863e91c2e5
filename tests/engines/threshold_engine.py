"""A small engine from outside the package, registered by :mod:`test_engine_registry` through the
``subseg.engines`` entry point. Like any engine module holding a spec, it imports ``bids_app.engines.base``,
not the registry (``bids_app.engines``) that loads it."""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nb
import numpy as np

from bids_app.engines.base import CliOption, EngineSpec, Segmentation
from bids_app.errors import SubsegError


@dataclass(frozen=True)
class ThresholdOptions:
    fraction: float = 0.5


class ThresholdEngine:
    """Voxels brighter than ``fraction`` of the maximum are white matter, Left or Right by the RAS grid's half."""

    @classmethod
    def prepare(cls, options: ThresholdOptions, preprocessing: dict) -> ThresholdOptions:
        if not 0 < options.fraction < 1:
            raise SubsegError(f"--threshold-fraction {options.fraction}: not between 0 and 1")
        return options

    @classmethod
    def model_labels(cls, options: ThresholdOptions) -> list[int]:
        return [2, 41]

    @classmethod
    def from_options(cls, options, *, device, omp_nthreads, probabilities) -> "ThresholdEngine":
        return cls(options)

    def __init__(self, options: ThresholdOptions):
        self.options = options

    def provenance(self) -> dict:
        return {"Engine": "threshold", "Fraction": self.options.fraction}

    def predict(self, image, reference=None) -> Segmentation:
        data = np.asanyarray(image.dataobj, dtype=np.float32)
        labels = np.zeros(data.shape, np.int16)
        bright = data > self.options.fraction * data.max()
        half = data.shape[0] // 2  # the workflow hands the T1w over in RAS: the first axis runs left to right
        labels[:half][bright[:half]] = 2
        labels[half:][bright[half:]] = 41
        return Segmentation(labels=nb.Nifti1Image(labels, image.affine), provenance=self.provenance())


SPEC = EngineSpec(
    name="threshold", engine=f"{__name__}:ThresholdEngine", options=ThresholdOptions,
    cli=(CliOption(("--threshold-fraction",), "fraction",
                   {"type": float, "default": 0.5, "help": "threshold: fraction of the maximum intensity"}),),
    mem_gb=1,
)
