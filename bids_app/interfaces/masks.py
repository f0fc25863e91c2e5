"""Apply a brain mask to an image."""

from __future__ import annotations

import os

import nibabel as nb
import numpy as np
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec


class _MaskInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="image")
    mask = File(exists=True, mandatory=True, desc="binary mask on the same grid")


class _MaskOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="image with voxels outside the mask set to 0")


class ApplyMask(SimpleInterface):
    """Zero the voxels outside ``mask``."""

    input_spec = _MaskInputSpec
    output_spec = _MaskOutputSpec

    def _run_interface(self, runtime):
        image, mask = nb.load(self.inputs.in_file), nb.load(self.inputs.mask)
        if image.shape[:3] != mask.shape[:3] or not np.allclose(image.affine, mask.affine, atol=1e-4):
            raise ValueError(f"{self.inputs.mask}: mask grid differs from {self.inputs.in_file}")
        data = np.asanyarray(image.dataobj).astype(np.float32) * (np.asanyarray(mask.dataobj) > 0)
        self._results["out_file"] = os.path.join(runtime.cwd, "masked.nii.gz")
        nb.Nifti1Image(data, image.affine, image.header).to_filename(self._results["out_file"])
        return runtime
