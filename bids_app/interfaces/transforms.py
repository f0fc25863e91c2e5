"""Apply an affine (ITK text) to move an image between the T1w grid and template space.

With ``invert=False`` the ``from-T1w_to-<template>_mode-image`` affine resamples the T1w onto a grid
in template space; with ``invert=True`` it brings a template-space image (label map, mask, posterior)
back onto the T1w grid. The output always carries the reference's shape, affine and header exactly.
"""

from __future__ import annotations

import os

import nibabel as nb
import numpy as np
import SimpleITK as sitk
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, traits

from bids_app.utils.itk_images import from_sitk, to_sitk

_INTERPOLATORS = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}


def read_affine(xfm: str | os.PathLike) -> sitk.Transform:
    """Read an affine written by ITK or SimpleITK; fail naming the file if it is not one."""
    transform = sitk.ReadTransform(str(xfm))
    if transform.GetDimension() != 3 or not transform.IsLinear():
        raise ValueError(f"{xfm} does not hold one 3D affine transform")
    return transform


def lps_matrix(transform: sitk.Transform) -> np.ndarray:
    """The 4x4 matrix of an ITK affine: template LPS points to T1w LPS points."""
    matrix = np.asarray(transform.GetMatrix()).reshape(3, 3)
    centre, translation = np.asarray(transform.GetCenter()), np.asarray(transform.GetTranslation())
    result = np.eye(4)
    result[:3, :3] = matrix
    result[:3, 3] = translation + centre - matrix @ centre
    return result


def apply_affine(image, reference, transform: sitk.Transform, *, invert: bool = False, interpolation: str = "linear"):
    """Resample ``image`` onto ``reference``'s grid through ``transform`` (its inverse with ``invert``).

    ``nearest`` keeps the input's data type (label maps); ``linear`` gives float32. Outside is 0.
    """
    if interpolation not in _INTERPOLATORS:
        raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATORS)}, not {interpolation!r}")
    dtype = np.asanyarray(image.dataobj).dtype if interpolation == "nearest" else np.float32
    if invert:
        transform = transform.GetInverse()
    grid = to_sitk(reference, dtype=np.uint8)
    resampled = sitk.Resample(to_sitk(image, dtype=dtype), grid, transform, _INTERPOLATORS[interpolation], 0.0)
    return from_sitk(resampled, reference, dtype=dtype)


class ApplyAffineInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="image to move")
    reference = File(exists=True, mandatory=True, desc="image whose grid the output takes")
    xfm = File(exists=True, mandatory=True, desc="affine, ITK text, from-T1w_to-<template>_mode-image")
    invert = traits.Bool(False, usedefault=True, desc="template space to T1w (True) or T1w to template space")
    interpolation = traits.Enum("linear", "nearest", usedefault=True, desc="nearest for label maps and masks")


class ApplyAffineOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="in_file on the grid of reference")


class ApplyAffine(SimpleInterface):
    """Move an image onto a reference grid with an affine (or its inverse)."""

    input_spec = ApplyAffineInputSpec
    output_spec = ApplyAffineOutputSpec

    def _run_interface(self, runtime):
        moved = apply_affine(
            nb.load(self.inputs.in_file), nb.load(self.inputs.reference), read_affine(self.inputs.xfm),
            invert=self.inputs.invert, interpolation=self.inputs.interpolation,
        )
        name = os.path.basename(self.inputs.in_file).split(".")[0]
        self._results["out_file"] = os.path.join(runtime.cwd, f"{name}_moved.nii.gz")
        moved.to_filename(self._results["out_file"])
        return runtime
