"""Images between nibabel (RAS, voxel order i, j, k) and SimpleITK (LPS, arrays in k, j, i order).

nibabel reads and writes every file, so an output carries its reference's affine and header exactly.

>>> import numpy as np, nibabel as nb
>>> affine = np.array([[-1.0, 0, 0, 90], [0, 0, 1, -120], [0, -1.2, 0, 100], [0, 0, 0, 1]])
>>> image = nb.Nifti1Image(np.arange(24, dtype="float32").reshape(2, 3, 4), affine)
>>> itk = to_sitk(image)
>>> itk.GetSize(), itk.GetSpacing()
((2, 3, 4), (1.0, 1.2, 1.0))
>>> itk.TransformIndexToPhysicalPoint((1, 2, 3))  # LPS: x and y of RAS negated
(-89.0, 117.0, 97.6)
>>> back = from_sitk(itk, image)
>>> bool(np.array_equal(back.get_fdata(), image.get_fdata())), bool(np.allclose(back.affine, affine))
(True, True)
"""

from __future__ import annotations

import nibabel as nb
import numpy as np
import SimpleITK as sitk

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def to_sitk(image: nb.spatialimages.SpatialImage, dtype=np.float32) -> sitk.Image:
    """A 3D nibabel image as a SimpleITK image at the same place in the world."""
    data = np.asanyarray(image.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"{image.get_filename() or 'image'} has shape {data.shape}: a 3D image is needed")
    itk = sitk.GetImageFromArray(np.ascontiguousarray(data.astype(dtype, copy=False).transpose(2, 1, 0)))
    zooms = np.linalg.norm(image.affine[:3, :3], axis=0)
    itk.SetSpacing(zooms.tolist())
    itk.SetOrigin((_RAS_TO_LPS @ image.affine[:3, 3]).tolist())
    itk.SetDirection((_RAS_TO_LPS @ (image.affine[:3, :3] / zooms)).ravel().tolist())
    return itk


def from_sitk(itk: sitk.Image, reference: nb.spatialimages.SpatialImage, dtype=None) -> nb.Nifti1Image:
    """The voxels of ``itk`` (computed on ``reference``'s grid) as NIfTI with ``reference``'s affine."""
    data = sitk.GetArrayFromImage(itk).transpose(2, 1, 0)
    if data.shape != tuple(reference.shape[:3]):
        raise ValueError(f"SimpleITK image of shape {data.shape} is not on the reference grid {reference.shape[:3]}")
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    header = reference.header.copy() if isinstance(reference, nb.Nifti1Image) else None
    result = nb.Nifti1Image(data, reference.affine, header)
    result.set_data_dtype(data.dtype)
    qform_code = int(reference.header["qform_code"]) if header is not None else 1
    sform_code = int(reference.header["sform_code"]) if header is not None else 1
    result.set_qform(reference.affine, code=qform_code or 1)
    result.set_sform(reference.affine, code=sform_code or 1)
    return result
