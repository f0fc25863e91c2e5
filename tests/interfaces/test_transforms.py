"""Labels go to template space and come back onto exactly the T1w grid."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import SimpleITK as sitk

from bids_app.interfaces.transforms import ApplyAffine, apply_affine
from bids_app.labels import SUBCORTICAL
from bids_app.utils.conform import conform


def write_affine(path, rotation_degrees=(0.0, 0.0, 0.0), translation=(0.0, 0.0, 0.0)):
    transform = sitk.Euler3DTransform()
    transform.SetRotation(*np.radians(rotation_degrees))
    transform.SetTranslation(translation)
    sitk.WriteTransform(transform, str(path))
    return str(path)


def test_identity_round_trip_is_exact(shared_data, tmp_path):
    """Onto a RAS crop of the T1w grid (a "template" grid) and back: nothing moves, nothing flips."""
    labels_file = shared_data / "fsaverage" / "aseg_2mm.mgz"
    labels = nb.load(labels_file)
    native = nb.Nifti1Image(np.asanyarray(labels.dataobj).astype(np.int16), labels.affine)
    native_file = tmp_path / "native_dseg.nii.gz"
    native.to_filename(native_file)
    crop = conform(native, "RAS").slicer[5:-4, 3:-6, 7:-2]
    crop_file = tmp_path / "template_grid.nii.gz"
    crop.to_filename(crop_file)
    xfm = write_affine(tmp_path / "identity.txt")

    forward = ApplyAffine(in_file=str(native_file), reference=str(crop_file), xfm=xfm, interpolation="nearest")
    in_template = forward.run(cwd=str(tmp_path)).outputs.out_file
    backward = ApplyAffine(in_file=in_template, reference=str(native_file), xfm=xfm, invert=True,
                           interpolation="nearest")
    back = nb.load(backward.run(cwd=str(tmp_path)).outputs.out_file)

    assert back.shape == native.shape
    assert np.array_equal(back.affine, nb.load(native_file).affine)
    assert back.get_data_dtype() == np.int16
    inside = np.asanyarray(apply_affine(
        nb.Nifti1Image(np.ones(crop.shape, np.uint8), crop.affine), native, sitk.ReadTransform(xfm),
        invert=True, interpolation="nearest").dataobj).astype(bool)
    original, returned = np.asanyarray(native.dataobj), np.asanyarray(back.dataobj)
    assert 0.5 < inside.mean() < 1.0
    assert np.array_equal(returned[inside], original[inside])
    assert not returned[~inside].any()


def test_rotated_round_trip_keeps_structures(shared_data, tmp_path):
    """Through a rotated, shifted template grid and back with nearest neighbour: the grid is exact and
    each subcortical structure overlaps itself well (two nearest-neighbour steps move boundary voxels)."""
    native = nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    labels = np.asanyarray(native.dataobj)
    native = nb.Nifti1Image(np.where(labels < 1000, labels, 3).astype(np.int16), native.affine)
    template_grid = conform(native, "RAS", shape=(180, 200, 180), zooms=(1.0, 1.0, 1.0), order=0)
    transform = sitk.ReadTransform(write_affine(tmp_path / "xfm.txt", (6.0, -4.0, 9.0), (4.5, -3.2, 2.7)))

    in_template = apply_affine(native, template_grid, transform, interpolation="nearest")
    back = apply_affine(in_template, native, transform, invert=True, interpolation="nearest")

    assert back.shape == native.shape and np.array_equal(back.affine, native.affine)
    original, returned = np.asanyarray(native.dataobj), np.asanyarray(back.dataobj)
    for label in SUBCORTICAL:
        a, b = original == label, returned == label
        dice = 2.0 * (a & b).sum() / (a.sum() + b.sum())
        assert dice > 0.85, f"label {label}: Dice {dice:.3f} after the round trip"
