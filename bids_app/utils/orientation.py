"""Which of a NIfTI header's two affines to trust, decided as fMRIPrep's image validation does.

A NIfTI header holds a qform (rotation, zooms, shift) and an sform (any affine), each with a code saying
whether it is set. Readers differ on which one they use (nibabel: sform first; ITK: qform), so an image whose
two disagree is placed differently by different tools, and with both codes 0 no tool knows which side is Left.

- both codes 0: refused (:data:`NO_ORIENTATION` tells how to fix the header);
- both set and equal: kept;
- sform set and a rotation plus zooms (expressible as a qform), qform unset or different: the sform is copied
  to the qform;
- qform set, sform unset or sheared: the qform is copied to the sform;
- sform sheared and qform unset: the sform is kept, as nibabel reads it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import nibabel as nb
import numpy as np

#: How to fix a header with neither affine set (the message of a refusal).
NO_ORIENTATION = ("qform_code and sform_code are both 0, so which side is Left is unknown; convert the scan "
                  "again from DICOM (dcm2niix writes both), or set the header's sform and qform (with their "
                  "codes) from the scanner geometry")

#: Two affines closer than this (mm at any corner of the image) are taken as equal.
TOLERANCE_MM = 1e-3


@dataclass(frozen=True)
class Orientation:
    """The affine to use, its code, and what was done to the header (None: nothing)."""

    affine: np.ndarray
    code: int
    change: str | None


def _as_qform(affine: np.ndarray) -> np.ndarray:
    """``affine`` as a qform can hold it (rotation, zooms and shift only; shear is lost)."""
    header = nb.Nifti1Header()
    header.set_qform(affine)
    return header.get_qform()


def corner_distance_mm(first: np.ndarray, second: np.ndarray, shape) -> float:
    """Largest distance (mm) between where ``first`` and ``second`` put the corners of a grid of ``shape``.

    >>> corner_distance_mm(np.eye(4), np.diag([-1.0, 1, 1, 1]), (11, 2, 2))
    20.0
    """
    corners = np.array([[*corner, 1.0] for corner in itertools.product(*[(0, n - 1) for n in shape[:3]])]).T
    return float(np.max(np.linalg.norm((first @ corners - second @ corners)[:3], axis=0)))


def _opposite_handedness(first: np.ndarray, second: np.ndarray) -> bool:
    """True when one affine is the mirror image of the other (one of them swaps Left and Right)."""
    return bool(np.linalg.det(first[:3, :3]) * np.linalg.det(second[:3, :3]) < 0)


def decide_orientation(header: nb.Nifti1Header, shape) -> Orientation | None:
    """The affine to trust in ``header`` (see the module's rules); None when neither code is set."""
    qform, qform_code = header.get_qform(coded=True)
    sform, sform_code = header.get_sform(coded=True)
    qform_code, sform_code = int(qform_code), int(sform_code)
    if not qform_code and not sform_code:
        return None
    sform_is_rigid = sform_code > 0 and corner_distance_mm(_as_qform(sform), sform, shape) < TOLERANCE_MM
    if qform_code and sform_code and corner_distance_mm(qform, sform, shape) < TOLERANCE_MM:
        return Orientation(sform, sform_code, None)
    if sform_is_rigid:
        if not qform_code:
            change = "qform_code was 0: the qform was set from the sform"
        else:
            distance = corner_distance_mm(qform, sform, shape)
            change = (f"the qform and sform disagreed by up to {distance:.1f} mm "
                      f"({'with opposite handedness, ' if _opposite_handedness(qform, sform) else ''}"
                      f"qform {''.join(nb.aff2axcodes(qform))}, sform {''.join(nb.aff2axcodes(sform))}): "
                      f"the sform was kept and copied to the qform, as fMRIPrep does")
        return Orientation(sform, sform_code, change)
    if qform_code:
        reason = "sform_code was 0" if not sform_code else "the sform holds a shear a qform cannot"
        return Orientation(qform, qform_code, f"{reason}: the sform was set from the qform")
    return Orientation(sform, sform_code, "qform_code was 0 and the sform holds a shear: the sform was kept alone")


def apply_orientation(header: nb.Nifti1Header, orientation: Orientation) -> None:
    """Write ``orientation`` into both affines of ``header`` (the qform only when it can hold it)."""
    header.set_sform(orientation.affine, orientation.code)
    rigid = corner_distance_mm(_as_qform(orientation.affine), orientation.affine, header.get_data_shape()) < \
        TOLERANCE_MM
    header.set_qform(orientation.affine if rigid else None, orientation.code if rigid else 0)
