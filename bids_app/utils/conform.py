"""Grid changes between a T1w's own space and the grid an engine works on, and back.

When the T1w's voxels already have the engine grid's size, the engine grid is laid on the T1w's own voxel
lattice (a whole-voxel offset): conforming is then a reorientation plus crop/pad, with no interpolation,
and coming back is exact. Other voxel sizes are resampled with a prefiltered cubic B-spline, clipped to
the input's range (:data:`INTENSITY_INTERPOLATION`).

>>> import numpy as np, nibabel as nb
>>> img = nb.Nifti1Image(np.arange(24, dtype="float32").reshape(2, 3, 4), np.diag([2, 2, 2, 1]))
>>> lia = conform(img, "LIA")
>>> lia.shape, nb.aff2axcodes(lia.affine)
((2, 4, 3), ('L', 'I', 'A'))
>>> back = resample_like(lia, img, order=0)
>>> bool(np.array_equal(back.get_fdata(), img.get_fdata())), bool(np.allclose(back.affine, img.affine))
(True, True)
>>> padded = conform(img, "LIA", shape=(4, 5, 5), zooms=(2, 2, 2))
>>> bool(np.array_equal(resample_like(padded, img, order=1).get_fdata(), img.get_fdata()))
True
"""

from __future__ import annotations

import nibabel as nb
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from scipy import ndimage

from .separable import cubic_along_axes

#: Voxel sizes this close (mm) to the target grid's are the same lattice: no interpolation.
ZOOM_TOLERANCE = 1e-3
#: A grid offset this close (voxels) to whole voxels is a crop/pad (headers store affines in float32).
SHIFT_TOLERANCE = 1e-3
#: Spline order used for intensities wherever resampling is needed.
INTENSITY_ORDER = 3
INTENSITY_INTERPOLATION = "cubic B-spline (prefiltered), clipped to the input's intensity range"


def conform(image: nb.Nifti1Image, orientation: str = "RAS", shape=None, zooms=None,
            order: int = INTENSITY_ORDER) -> nb.Nifti1Image:
    """Reorient ``image`` to ``orientation`` (exact); with ``shape``/``zooms``, place it on that grid.

    The new grid keeps the input's axes and world centre (FreeSurfer's ``c_ras``: voxel ``shape // 2`` of
    the new grid sits at voxel ``shape / 2`` of the old one). When the voxel sizes match (within
    :data:`ZOOM_TOLERANCE`), the centre is rounded to the input voxel ``shape // 2`` instead, so the grid lies
    on the input's lattice and no value is interpolated; see :func:`lies_on_lattice`.
    """
    transform = ornt_transform(io_orientation(image.affine), axcodes2ornt(tuple(orientation)))
    reoriented = image.as_reoriented(transform)
    if shape is None and zooms is None:
        return reoriented
    old_shape = np.asarray(reoriented.shape[:3])
    old_zooms = np.linalg.norm(reoriented.affine[:3, :3], axis=0)
    shape = tuple(int(s) for s in (shape or old_shape))
    zooms = np.asarray(zooms if zooms is not None else old_zooms, dtype=float)
    affine = np.eye(4)
    if np.allclose(old_zooms, zooms, atol=ZOOM_TOLERANCE):
        affine[:3, :3] = reoriented.affine[:3, :3]
        centre = reoriented.affine @ np.r_[old_shape // 2, 1.0]
    else:
        affine[:3, :3] = reoriented.affine[:3, :3] / old_zooms * zooms
        centre = reoriented.affine @ np.r_[old_shape / 2.0, 1.0]
    affine[:3, 3] = centre[:3] - affine[:3, :3] @ (np.asarray(shape) // 2)
    return resample_to_grid(reoriented, shape, affine, order=order)


def whole_voxel_shift(source_affine, target_affine) -> np.ndarray | None:
    """The integer voxel offset from a target grid to a source grid with the same axes, else None."""
    vox_to_vox = np.linalg.inv(np.asarray(source_affine, float)) @ np.asarray(target_affine, float)
    shift = vox_to_vox[:3, 3]
    if np.allclose(vox_to_vox[:3, :3], np.eye(3), atol=1e-4) and np.allclose(shift, np.round(shift),
                                                                             atol=SHIFT_TOLERANCE):
        return np.round(shift).astype(int)
    return None


def lies_on_lattice(image: nb.spatialimages.SpatialImage, reference: nb.spatialimages.SpatialImage) -> bool:
    """Whether ``image``'s grid is ``reference``'s voxel lattice up to flips, permutations and whole voxels."""
    transform = ornt_transform(io_orientation(image.affine), io_orientation(reference.affine))
    reoriented_affine = image.affine @ nb.orientations.inv_ornt_aff(transform, image.shape[:3])
    return whole_voxel_shift(reference.affine, reoriented_affine) is not None


def resample_to_grid(image: nb.Nifti1Image, shape, affine, order: int = 1, dtype=None) -> nb.Nifti1Image:
    """Resample ``image`` onto (``shape``, ``affine``); ``order=0`` for label maps. Outside is 0.

    A whole-voxel offset is a crop/pad (exact, any order). Order 3 prefilters the B-spline and clips the
    result to the input's range; orders 0 and 1 interpolate directly.
    """
    data = np.asanyarray(image.dataobj)
    dtype = dtype or (data.dtype if order == 0 else np.float32)
    shift = whole_voxel_shift(image.affine, affine)
    if shift is not None:
        out = _crop_or_pad(data, shift, tuple(shape)).astype(dtype, copy=False)
    else:
        vox_to_vox = np.linalg.inv(image.affine) @ np.asarray(affine)
        values = data.astype(np.float32 if order else data.dtype, copy=False)
        along_axes = np.allclose(vox_to_vox[:3, :3], np.diag(np.diag(vox_to_vox[:3, :3])), atol=1e-6)
        if order == 3 and along_axes:
            out = cubic_along_axes(values, np.diag(vox_to_vox[:3, :3]), vox_to_vox[:3, 3], tuple(shape))
        else:
            out = ndimage.affine_transform(
                values, vox_to_vox[:3, :3], vox_to_vox[:3, 3], output_shape=tuple(shape), order=order,
                mode="grid-constant" if order > 1 else "constant", cval=0, prefilter=order > 1,
                output=np.float32 if order else data.dtype,
            )
        if order > 1:
            np.clip(out, min(float(values.min()), 0.0), float(values.max()), out=out)
        out = out.astype(dtype, copy=False)
    header = image.header.copy() if isinstance(image, nb.Nifti1Image) else None
    result = nb.Nifti1Image(out, affine, header)
    result.set_data_dtype(dtype)
    result.set_qform(affine, code=1)
    result.set_sform(affine, code=1)
    return result


def _crop_or_pad(data: np.ndarray, shift: np.ndarray, shape: tuple) -> np.ndarray:
    """``out[i] = data[i + shift]`` where that voxel exists, else 0."""
    out = np.zeros(shape + data.shape[3:], dtype=data.dtype)
    target, source = [], []
    for offset, size_in, size_out in zip(shift, data.shape[:3], shape):
        start, stop = max(0, -offset), min(size_out, size_in - offset)
        if stop <= start:
            return out
        target.append(slice(start, stop))
        source.append(slice(start + offset, stop + offset))
    out[tuple(target)] = data[tuple(source)]
    return out


def resample_like(image: nb.Nifti1Image, reference: nb.Nifti1Image, order: int = 0) -> nb.Nifti1Image:
    """Resample ``image`` onto the exact grid and affine of ``reference`` (nearest neighbour by default).

    When the two grids differ only by axis flips, permutations and whole-voxel offsets, the result is exact
    (no interpolation).
    """
    transform = ornt_transform(io_orientation(image.affine), io_orientation(reference.affine))
    reoriented = image.as_reoriented(transform)
    result = resample_to_grid(reoriented, reference.shape[:3], reference.affine, order=order)
    if isinstance(reference, nb.Nifti1Image):
        result.set_qform(*reference.get_qform(coded=True))
        result.set_sform(*reference.get_sform(coded=True))
    return result
