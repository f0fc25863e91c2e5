"""Check that a T1w image can be segmented at all, before any engine sees it."""

from __future__ import annotations

import os
import zlib

import nibabel as nb
import numpy as np
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, traits

from ..errors import SubsegError
from ..utils.orientation import NO_ORIENTATION, apply_orientation, decide_orientation

#: Voxel sizes outside this range (mm) are taken for a broken header, not a real acquisition.
PLAUSIBLE_VOXEL_MM = (0.1, 8.0)

#: Smallest field of view (mm, every axis) taken for a head: the putamina span about 60 mm left to right.
MIN_FIELD_OF_VIEW_MM = 60


class InvalidImageError(SubsegError, ValueError):
    """A T1w that cannot be segmented; the message names the file and the problem."""


def check_t1w(path: str) -> nb.Nifti1Image:
    """Load ``path`` and return it as a 3D float image, or raise :class:`InvalidImageError`."""
    try:
        image = nb.load(path)
        data = np.asanyarray(image.dataobj)
    except (OSError, EOFError, zlib.error, nb.filebasedimages.ImageFileError, ValueError) as error:
        raise InvalidImageError(f"{path}: unreadable image ({_short(error)})") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InvalidImageError(f"{path}: a {data.ndim}D image of shape {data.shape}; a T1w must be 3D")
    if min(data.shape) < 8:
        raise InvalidImageError(f"{path}: too small to hold a brain (shape {data.shape})")
    zooms = np.asarray(image.header.get_zooms()[:3], dtype=float)
    low, high = PLAUSIBLE_VOXEL_MM
    if not np.all(np.isfinite(zooms)) or np.any(zooms < low) or np.any(zooms > high):
        raise InvalidImageError(f"{path}: implausible voxel size {' x '.join(f'{float(z):g}' for z in zooms)} mm "
                                f"(expected {low} to {high} mm)")
    extent = np.asarray(data.shape[:3]) * zooms
    if np.any(extent < MIN_FIELD_OF_VIEW_MM):
        raise InvalidImageError(f"{path}: too small to hold a head: a field of view of "
                                f"{' x '.join(f'{float(mm):.0f}' for mm in extent)} mm (at least "
                                f"{MIN_FIELD_OF_VIEW_MM} mm along each axis is needed to hold the deep grey "
                                f"nuclei of both hemispheres)")
    header = image.header.copy() if isinstance(image, nb.Nifti1Image) else None
    if header is not None:
        orientation = decide_orientation(header, data.shape)
        if orientation is None:
            raise InvalidImageError(f"{path}: {NO_ORIENTATION}")
        apply_orientation(header, orientation)
    affine = header.get_best_affine() if header is not None else image.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-6:
        raise InvalidImageError(f"{path}: the affine in the header is singular or not finite")
    if np.issubdtype(data.dtype, np.floating) and not np.all(np.isfinite(data)):
        raise InvalidImageError(f"{path}: holds NaN or infinite values")
    if float(np.ptp(data)) == 0.0:
        raise InvalidImageError(f"{path}: every voxel has the same value ({data.flat[0]}); no image to segment")
    return nb.Nifti1Image(data, affine, header)


def header_change(path: str) -> str | None:
    """What :func:`check_t1w` changed in the orientation of ``path``'s header (None: nothing)."""
    image = nb.load(path)
    if not isinstance(image, nb.Nifti1Image):
        return None
    orientation = decide_orientation(image.header, image.shape)
    return orientation.change if orientation is not None else None


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


class _ValidateInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="a T1w image")


class _ValidateOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="the same image, 3D (a singleton 4th axis dropped), qform and sform agreeing")
    header = traits.Dict(desc="sidecar fields: what was changed in the header ({} when nothing)")


class ValidateT1w(SimpleInterface):
    """Refuse unreadable, truncated, 4D, empty, NaN-filled, mis-scaled or unoriented images with one clear line.

    A qform and sform that disagree are settled as :mod:`bids_app.utils.orientation` says; the change goes
    to the label map's sidecar as ``HeaderOrientation``.
    """

    input_spec = _ValidateInputSpec
    output_spec = _ValidateOutputSpec

    def _run_interface(self, runtime):
        image = check_t1w(self.inputs.in_file)
        original = nb.load(self.inputs.in_file)
        change = header_change(self.inputs.in_file)
        self._results["header"] = {"HeaderOrientation": change} if change else {}
        if len(original.shape) == 3 and isinstance(original, nb.Nifti1Image) and not change:
            self._results["out_file"] = self.inputs.in_file
        else:
            out_file = os.path.join(runtime.cwd, "t1w_valid.nii.gz")
            image.to_filename(out_file)
            self._results["out_file"] = out_file
        return runtime
