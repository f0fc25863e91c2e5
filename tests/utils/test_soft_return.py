"""Labels onto another grid from posteriors, one posterior at a time, give the argmax of the whole stack."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.utils.conform import resample_like
from bids_app.utils.soft_return import soft_labels

STRUCTURES = (0, 10, 49, 11, 50, 12, 51, 17, 53)


@pytest.fixture(scope="module")
def labelled_box(shared_data):
    """Real FreeSurfer labels (a 96 mm box around the basal ganglia) and smooth posteriors made from them."""
    from scipy import ndimage

    aseg = nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    box = (slice(80, 176), slice(80, 176), slice(80, 176))
    labels = np.asanyarray(aseg.dataobj)[box].astype(np.int16)
    labels = np.where(np.isin(labels, STRUCTURES), labels, 0)
    affine = aseg.affine.copy()
    affine[:3, 3] = aseg.affine[:3, :3] @ [s.start for s in box] + aseg.affine[:3, 3]
    posteriors = np.stack([ndimage.gaussian_filter((labels == s).astype(np.float32), 0.7) for s in STRUCTURES])
    posteriors /= posteriors.sum(0)
    return labels, posteriors, affine


def _grid(affine, zooms, shape, shift):
    out = affine.copy()
    out[:3, :3] = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0) * zooms
    out[:3, 3] = affine[:3, 3] + affine[:3, :3] @ np.asarray(shift)
    return nb.Nifti1Image(np.zeros(shape, np.float32), out)


def test_equals_the_argmax_of_the_whole_resampled_stack(labelled_box):
    labels, posteriors, affine = labelled_box
    reference = _grid(affine, (0.8, 0.8, 1.2), (140, 130, 90), shift=(-10.3, 4.6, 2.2))
    soft = soft_labels(zip(STRUCTURES, posteriors), affine, reference)
    stack = np.stack([np.asanyarray(resample_like(nb.Nifti1Image(p, affine), reference, order=1).dataobj)
                      for p in posteriors])
    expected = np.where(stack.max(0) > 0, np.asarray(STRUCTURES)[stack.argmax(0)], 0)
    np.testing.assert_array_equal(soft, expected)
    assert set(np.unique(soft)) == set(STRUCTURES)


def test_on_the_same_lattice_it_is_the_plain_argmax(labelled_box):
    labels, posteriors, affine = labelled_box
    reference = _grid(affine, (1, 1, 1), (80, 90, 100), shift=(7, 3, -5))
    soft = soft_labels(zip(STRUCTURES, posteriors), affine, reference)
    plain = np.asarray(STRUCTURES, np.int16)[posteriors.argmax(0)]
    expected = np.asanyarray(resample_like(nb.Nifti1Image(plain, affine), reference, order=0).dataobj)
    np.testing.assert_array_equal(soft, expected)


def test_smoother_than_nearest_neighbour_on_a_coarser_grid(labelled_box):
    """On a 1.5 mm grid, soft labels agree with the true structure at least as well as nearest neighbour."""
    labels, posteriors, affine = labelled_box
    reference = _grid(affine, (1.5, 1.5, 1.5), (64, 64, 64), shift=(0.25, 0.25, 0.25))
    soft = soft_labels(zip(STRUCTURES, posteriors), affine, reference)
    nearest = np.asanyarray(resample_like(nb.Nifti1Image(labels, affine), reference, order=0).dataobj)
    truth = np.asanyarray(resample_like(  # the fraction of each 1.5 mm voxel a structure fills, via 0.5 mm
        nb.Nifti1Image(labels, affine), _grid(affine, (0.5,) * 3, (192,) * 3, (-0.25,) * 3), order=0).dataobj)
    assert soft.shape == nearest.shape == (64, 64, 64)
    for structure in STRUCTURES[1:]:
        fine = (truth == structure).astype(np.float32).reshape(64, 3, 64, 3, 64, 3).mean((1, 3, 5)) > 0.5
        soft_dice = 2 * np.sum(fine & (soft == structure)) / (fine.sum() + (soft == structure).sum())
        near_dice = 2 * np.sum(fine & (nearest == structure)) / (fine.sum() + (nearest == structure).sum())
        assert soft_dice >= near_dice - 0.01, structure
