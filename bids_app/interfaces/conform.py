"""Bring a T1w onto the grid an engine works on, and label maps back onto the T1w's own grid."""

from __future__ import annotations

import os

import nibabel as nb
import numpy as np
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, traits

from ..utils.conform import INTENSITY_INTERPOLATION, conform, lies_on_lattice, resample_like


class _ConformInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="a validated 3D T1w")
    orientation = traits.Str("RAS", usedefault=True, desc="axis codes of the target grid, e.g. RAS or LIA")
    shape = traits.Either(None, traits.Tuple(traits.Int, traits.Int, traits.Int), usedefault=True,
                          desc="target shape; None keeps the shape (reorientation only)")
    zooms = traits.Either(None, traits.Tuple(traits.Float, traits.Float, traits.Float), usedefault=True,
                          desc="target voxel size in mm; None keeps it")


class _ConformOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="the T1w on the engine's grid, float32")
    provenance = traits.Dict(desc="how the T1w reached the engine's grid, for the sidecar's Preprocessing")


class Conform(SimpleInterface):
    """Reorient (exactly) and, when asked, place a T1w on an engine's grid (exact on the T1w's own lattice,
    else a cubic B-spline)."""

    input_spec = _ConformInputSpec
    output_spec = _ConformOutputSpec

    def _run_interface(self, runtime):
        image = nb.load(self.inputs.in_file)
        conformed = conform(image, self.inputs.orientation, self.inputs.shape, self.inputs.zooms)
        conformed = nb.Nifti1Image(np.asanyarray(conformed.dataobj).astype(np.float32), conformed.affine)
        self._results["out_file"] = os.path.join(runtime.cwd, "t1w_conformed.nii.gz")
        conformed.to_filename(self._results["out_file"])
        exact = lies_on_lattice(conformed, image)
        self._results["provenance"] = {"Conform": {
            "Orientation": self.inputs.orientation,
            "Shape": list(conformed.shape[:3]),
            "VoxelSize": [round(float(z), 4) for z in conformed.header.get_zooms()[:3]],
            "Interpolation": "none (the input's own voxel lattice: reorientation and crop/pad)" if exact
            else INTENSITY_INTERPOLATION,
        }}
        return runtime


class _ResampleInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="a label map or posterior map on the engine's grid")
    reference = File(exists=True, mandatory=True, desc="the T1w whose grid the result takes")
    interpolation = traits.Enum("nearest", "linear", usedefault=True,
                                desc="nearest for label maps (int16 out), linear for posteriors (float32 out)")


class _ResampleOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="the map on the exact grid and affine of reference")


class ResampleToReference(SimpleInterface):
    """Resample a map onto the input T1w's own grid (exact for pure reorientations)."""

    input_spec = _ResampleInputSpec
    output_spec = _ResampleOutputSpec

    def _run_interface(self, runtime):
        nearest = self.inputs.interpolation == "nearest"
        reference = nb.load(self.inputs.reference)
        result = resample_like(nb.load(self.inputs.in_file), reference, order=0 if nearest else 1)
        dtype = np.int16 if nearest else np.float32
        header = reference.header.copy() if isinstance(reference, nb.Nifti1Image) else None
        out = nb.Nifti1Image(np.asanyarray(result.dataobj).astype(dtype), reference.affine, header)
        out.set_data_dtype(dtype)
        out.header.set_slope_inter(1, 0)
        out.header["cal_min"], out.header["cal_max"] = 0, 0
        name = os.path.basename(self.inputs.in_file).split(".")[0]
        self._results["out_file"] = os.path.join(runtime.cwd, f"{name}_native.nii.gz")
        out.to_filename(self._results["out_file"])
        return runtime
