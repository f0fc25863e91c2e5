"""MeshNet's labels on the input's own grid: exact on the engine grid's lattice, from posteriors elsewhere."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import CONFORM, MeshNetEngine
from bids_app.utils.conform import conform, resample_like


@pytest.fixture(scope="module")
def small_head(shared_data) -> nb.Nifti1Image:
    """A 64 mm cube of the real T1w around the basal ganglia, stored RAS (1 mm)."""
    image = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz")
    cube = image.slicer[96:160, 96:160, 96:160]
    return nb.as_closest_canonical(nb.Nifti1Image(np.asanyarray(cube.dataobj).astype(np.float32), cube.affine))


@pytest.mark.slow
def test_off_lattice_labels_are_the_argmax_of_the_returned_posteriors(small_head):
    coarse_affine = small_head.affine.copy()
    coarse_affine[:3, :3] *= 1.3  # a 1.3 mm grid: the engine resamples, and labels come back softly
    coarse = nb.Nifti1Image(np.asanyarray(small_head.dataobj), coarse_affine)
    segmentation = MeshNetEngine(probabilities=True).predict(coarse)
    assert segmentation.provenance["ReturnToInputGrid"].startswith("posteriors")
    labels = np.asanyarray(segmentation.labels.dataobj)
    assert labels.shape == coarse.shape
    np.testing.assert_allclose(segmentation.labels.affine, coarse.affine, atol=1e-5)
    names = sorted(segmentation.probabilities)
    stack = np.stack([np.asanyarray(segmentation.probabilities[n].dataobj) for n in names])
    argmax = np.asarray(names)[stack.argmax(0)]
    kept = labels != 0  # the largest-cluster cleaning may empty a few stray voxels
    assert np.mean(labels[kept] == argmax[kept]) > 0.999
    assert np.mean(argmax[~kept] == 0) > 0.99


@pytest.mark.slow
def test_on_lattice_labels_are_today_s_labels(small_head):
    """Handing the conformed image and the input as reference gives the crop/pad of the engine-grid labels."""
    engine = MeshNetEngine()
    conformed = conform(small_head, **CONFORM)
    on_engine_grid = engine.predict(conformed)
    assert on_engine_grid.provenance["ReturnToInputGrid"].startswith("exact")
    native = engine.predict(conformed, reference=small_head)
    assert native.provenance["ReturnToInputGrid"].startswith("exact")
    expected = resample_like(on_engine_grid.labels, small_head, order=0)
    np.testing.assert_array_equal(np.asanyarray(native.labels.dataobj), np.asanyarray(expected.dataobj))
