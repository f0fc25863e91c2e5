"""Conforming to an engine's grid and coming back leaves labels on the exact input grid."""

import nibabel as nb
import numpy as np
import pytest

from scipy import ndimage

from bids_app.utils.conform import conform, resample_like, resample_to_grid


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


@pytest.fixture(scope="module")
def norm(shared_data):
    """The niivue subject's real T1w (uint8, 256^3, 1 mm, LIA)."""
    image = nb.load(shared_data / "niivue" / "norm.mgz")
    return nb.Nifti1Image(np.asanyarray(image.dataobj).astype(np.float32), image.affine)


def _odd_sagittal(image: nb.Nifti1Image) -> nb.Nifti1Image:
    """The head cropped to odd dimensions (as MNI-space data often are) and stored sagittal (ASL)."""
    cropped = image.slicer[20:201, 15:232, 40:221]
    return conform(nb.Nifti1Image(np.asanyarray(cropped.dataobj), cropped.affine), "ASL")


def test_same_voxel_size_lies_on_the_input_lattice_and_comes_back_exactly(norm):
    image = _odd_sagittal(norm)
    assert image.shape == (181, 217, 181)
    conformed = conform(image, "LIA", shape=(256, 256, 256), zooms=(1, 1, 1))
    original = np.asanyarray(image.dataobj)
    values = np.asanyarray(conformed.dataobj)
    assert set(np.unique(values)) <= set(np.unique(original)) | {0}  # no interpolated value anywhere
    assert np.count_nonzero(values) == np.count_nonzero(original)  # every voxel kept: only padding added
    for order in (0, 1, 3):
        back = resample_like(conformed, image, order=order)
        np.testing.assert_array_equal(np.asanyarray(back.dataobj), original)
        np.testing.assert_allclose(back.affine, image.affine, atol=1e-5)


def test_labels_through_the_engine_grid_equal_labels_computed_on_the_input(norm, aseg):
    """A voxel-wise rule applied on the engine grid gives, back on the input grid, what it gives there."""
    image = _odd_sagittal(norm)
    conformed = conform(image, "LIA", shape=(256, 256, 256), zooms=(1, 1, 1))
    rule = lambda data: np.where(data > 60, 1, 0).astype(np.int16) + (data > 90)  # noqa: E731
    on_grid = nb.Nifti1Image(rule(np.asanyarray(conformed.dataobj)), conformed.affine)
    back = resample_like(on_grid, image, order=0)
    np.testing.assert_array_equal(np.asanyarray(back.dataobj), rule(np.asanyarray(image.dataobj)))


def test_header_rotation_alone_needs_no_interpolation(norm):
    angle = np.deg2rad(15)
    rotation = np.eye(4)
    rotation[1:3, 1:3] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    tilted = nb.Nifti1Image(np.asanyarray(norm.dataobj), rotation @ norm.affine)
    conformed = conform(tilted, "LIA", shape=(256, 256, 256), zooms=(1, 1, 1))
    np.testing.assert_array_equal(np.asanyarray(conformed.dataobj), np.asanyarray(norm.dataobj))


def _half_voxel_round_trip_error(image: nb.Nifti1Image, order: int) -> float:
    """RMS error inside the head after moving ``image`` by half a voxel on each axis and back."""
    shifted_affine = image.affine.copy()
    shifted_affine[:3, 3] += image.affine[:3, :3] @ np.full(3, 0.5)
    there = resample_to_grid(image, image.shape, shifted_affine, order=order)
    back = resample_to_grid(there, image.shape, image.affine, order=order)
    original = np.asanyarray(image.dataobj)
    inside = ndimage.binary_erosion(original > 0, iterations=3)
    return float(np.sqrt(np.mean((np.asanyarray(back.dataobj)[inside] - original[inside]) ** 2)))


def test_cubic_spline_is_sharper_than_trilinear_on_a_real_head(norm):
    head = norm.slicer[64:192, 64:192, 64:192]
    linear = _half_voxel_round_trip_error(head, order=1)
    cubic = _half_voxel_round_trip_error(head, order=3)
    assert cubic < 0.6 * linear, (cubic, linear)


def test_cubic_spline_stays_within_the_input_range(norm):
    coarse = conform(norm, "RAS", shape=(200, 200, 200), zooms=(1.3, 1.3, 1.3))
    values = np.asanyarray(coarse.dataobj)
    original = np.asanyarray(norm.dataobj)
    assert values.min() >= 0 and values.max() <= original.max()
    assert values.max() > 0.9 * original.max()
