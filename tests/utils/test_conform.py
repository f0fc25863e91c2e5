"""Conforming to an engine's grid and coming back leaves labels on the exact input grid."""

import nibabel as nb
import numpy as np
import pytest

from bids_app.utils.conform import conform, resample_like


@pytest.fixture(scope="module")
def aseg(shared_data):
    image = nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    return nb.Nifti1Image(np.asanyarray(image.dataobj).astype(np.int32), image.affine)


@pytest.mark.parametrize("orientation", ["RAS", "LPS", "SAR", "LIA"])
def test_reorientation_round_trip_is_exact(aseg, orientation):
    there = conform(aseg, orientation)
    assert nb.aff2axcodes(there.affine) == tuple(orientation)
    back = resample_like(there, aseg, order=0)
    assert back.shape == aseg.shape
    np.testing.assert_array_equal(back.affine, aseg.affine)
    np.testing.assert_array_equal(np.asanyarray(back.dataobj), np.asanyarray(aseg.dataobj))


def test_reorientation_keeps_world_coordinates(aseg):
    there = conform(aseg, "RAS")
    voxel = np.array([120, 100, 140, 1])
    world = aseg.affine @ voxel
    back_voxel = np.round(np.linalg.inv(there.affine) @ world).astype(int)[:3]
    assert np.asanyarray(there.dataobj)[tuple(back_voxel)] == np.asanyarray(aseg.dataobj)[tuple(voxel[:3])]


def test_resampling_to_a_coarser_grid_keeps_the_centre(aseg):
    coarse = conform(aseg, "LIA", shape=(128, 128, 128), zooms=(2, 2, 2), order=0)
    assert coarse.shape == (128, 128, 128)
    np.testing.assert_allclose(coarse.header.get_zooms()[:3], (2, 2, 2))
    centre_in = aseg.affine @ np.r_[np.asarray(aseg.shape) / 2, 1]
    centre_out = coarse.affine @ np.r_[np.asarray(coarse.shape) / 2, 1]
    np.testing.assert_allclose(centre_in, centre_out, atol=1e-4)
    back = resample_like(coarse, aseg, order=0)
    original = np.asanyarray(aseg.dataobj)
    agreement = np.mean(np.asanyarray(back.dataobj)[original > 0] == original[original > 0])
    assert agreement > 0.6
