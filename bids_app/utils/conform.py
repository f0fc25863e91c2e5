"""Grid changes between a T1w's own space and the grid an engine works on, and back.

>>> import numpy as np, nibabel as nb
>>> img = nb.Nifti1Image(np.arange(24, dtype="float32").reshape(2, 3, 4), np.diag([2, 2, 2, 1]))
>>> lia = conform(img, "LIA")
>>> lia.shape, nb.aff2axcodes(lia.affine)
((2, 4, 3), ('L', 'I', 'A'))
>>> back = resample_like(lia, img, order=0)
>>> bool(np.array_equal(back.get_fdata(), img.get_fdata())), bool(np.allclose(back.affine, img.affine))
(True, True)
"""

from __future__ import annotations

import nibabel as nb
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from scipy import ndimage


def conform(image: nb.Nifti1Image, orientation: str = "RAS", shape=None, zooms=None, order: int = 1) -> nb.Nifti1Image:
    """Reorient ``image`` to ``orientation`` (exact); with ``shape``/``zooms``, resample onto that grid.

    The resampled grid keeps the world position of the input's centre voxel (FreeSurfer's ``c_ras``
    convention: voxel ``shape // 2`` of the new grid sits where voxel ``shape / 2`` of the old one was).
    """
    transform = ornt_transform(io_orientation(image.affine), axcodes2ornt(tuple(orientation)))
    reoriented = image.as_reoriented(transform)
    if shape is None and zooms is None:
        return reoriented
    shape = tuple(int(s) for s in (shape or reoriented.shape[:3]))
    zooms = np.asarray(zooms if zooms is not None else reoriented.header.get_zooms()[:3], dtype=float)
    axes = reoriented.affine[:3, :3] / np.linalg.norm(reoriented.affine[:3, :3], axis=0)
    centre = reoriented.affine @ np.r_[np.asarray(reoriented.shape[:3]) / 2.0, 1.0]
    affine = np.eye(4)
    affine[:3, :3] = axes * zooms
    affine[:3, 3] = centre[:3] - affine[:3, :3] @ (np.asarray(shape) // 2)
    return resample_to_grid(reoriented, shape, affine, order=order)


def resample_to_grid(image: nb.Nifti1Image, shape, affine, order: int = 1, dtype=None) -> nb.Nifti1Image:
    """Resample ``image`` onto (``shape``, ``affine``); ``order=0`` for label maps. Outside is 0."""
    data = np.asanyarray(image.dataobj)
    dtype = dtype or (data.dtype if order == 0 else np.float32)
    vox_to_vox = np.linalg.inv(image.affine) @ np.asarray(affine)
    # Headers store affines in float32: grids equal to that precision are the same grid.
    if np.allclose(vox_to_vox, np.eye(4), atol=1e-4) and tuple(shape) == data.shape[:3]:
        out = data.astype(dtype, copy=False)
    else:
        out = ndimage.affine_transform(
            data.astype(np.float32 if order else data.dtype, copy=False),
            vox_to_vox[:3, :3], vox_to_vox[:3, 3], output_shape=tuple(shape), order=order,
            mode="constant", cval=0, prefilter=False,
        ).astype(dtype, copy=False)
    header = image.header.copy() if isinstance(image, nb.Nifti1Image) else None
    result = nb.Nifti1Image(out, affine, header)
    result.set_data_dtype(dtype)
    result.set_qform(affine, code=1)
    result.set_sform(affine, code=1)
    return result


def resample_like(image: nb.Nifti1Image, reference: nb.Nifti1Image, order: int = 0) -> nb.Nifti1Image:
    """Resample ``image`` onto the exact grid and affine of ``reference`` (nearest neighbour by default).

    When the two grids differ only by axis flips and permutations, the result is exact (no interpolation).
    """
    transform = ornt_transform(io_orientation(image.affine), io_orientation(reference.affine))
    reoriented = image.as_reoriented(transform)
    result = resample_to_grid(reoriented, reference.shape[:3], reference.affine, order=order)
    if isinstance(reference, nb.Nifti1Image):
        result.set_qform(*reference.get_qform(coded=True))
        result.set_sform(*reference.get_sform(coded=True))
    return result
