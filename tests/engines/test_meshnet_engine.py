"""The MeshNet engine on real T1w images: accuracy, sides, grids, posteriors."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import MeshNetEngine
from bids_app.labels import LABELS, SUBCORTICAL, homolog



@pytest.fixture(scope="module")
def engine() -> MeshNetEngine:
    return MeshNetEngine()


@pytest.fixture(scope="module")
def niivue(shared_data) -> tuple[nb.spatialimages.SpatialImage, np.ndarray]:
    """The niivue subject's norm.mgz and its FreeSurfer labels."""
    folder = shared_data / "niivue"
    return nb.load(folder / "norm.mgz"), np.asanyarray(nb.load(folder / "aparc.a2009s+aseg.mgz").dataobj)


@pytest.fixture(scope="module")
def niivue_segmentation(niivue_meshnet):
    return niivue_meshnet[1]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _small_head(shared_data) -> nb.Nifti1Image:
    """A 48 mm cube of the real T1w, stored RAS: off the engine's grid, and quick to segment."""
    image = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz")
    cube = image.slicer[104:152, 104:152, 104:152]
    return nb.as_closest_canonical(nb.Nifti1Image(np.asanyarray(cube.dataobj), cube.affine))


def test_image_off_grid_gets_outputs_on_its_own_grid(shared_data):
    image = _small_head(shared_data)
    segmentation = MeshNetEngine(probabilities=True).predict(image)

    for output in (segmentation.labels, segmentation.masks["brain"], *segmentation.probabilities.values()):
        assert output.shape == image.shape
        np.testing.assert_allclose(output.affine, image.affine)
    labels = np.asanyarray(segmentation.labels.dataobj)
    assert np.issubdtype(labels.dtype, np.integer)
    assert set(np.unique(labels)) <= set(segmentation.probabilities)
    total = sum(np.asanyarray(p.dataobj) for p in segmentation.probabilities.values())
    np.testing.assert_allclose(total, 1.0, atol=1e-3)
    assert segmentation.provenance["Engine"] == "meshnet" and segmentation.provenance["Parc"] is False
    assert segmentation.provenance["Model"] == "model21_104class"
    assert len(segmentation.provenance["ModelSHA256"]) == 64


@pytest.mark.slow
def test_subcortical_dice_on_niivue_subject(niivue, niivue_segmentation):
    reference = niivue[1]
    labels = np.asanyarray(niivue_segmentation.labels.dataobj)
    dice = [_dice(labels == label, reference == label) for label in SUBCORTICAL]
    assert np.mean(dice) >= 0.68, dict(zip(SUBCORTICAL, np.round(dice, 3)))
    assert labels.max() < 1000, "cortical parcels only with parc=True"


@pytest.mark.slow
def test_brain_mask_holds_the_labels(niivue_segmentation):
    labels = np.asanyarray(niivue_segmentation.labels.dataobj)
    brain = np.asanyarray(niivue_segmentation.masks["brain"].dataobj).astype(bool)
    assert np.count_nonzero(brain & (labels > 0)) > 0.95 * np.count_nonzero(labels)


@pytest.mark.slow
def test_left_structures_lie_left(niivue_segmentation):
    labels = np.asanyarray(niivue_segmentation.labels.dataobj)
    affine = niivue_segmentation.labels.affine
    for label in SUBCORTICAL:
        if LABELS[label].hemi != "L":
            continue
        left_x, right_x = (
            (affine @ np.r_[np.argwhere(labels == side).mean(0), 1.0])[0] for side in (label, homolog(label))
        )
        assert left_x < right_x, LABELS[label].name


@pytest.mark.slow
def test_flipped_storage_gives_the_same_labels_in_world_space(engine, niivue, niivue_segmentation):
    image = niivue[0]
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = image.shape[0] - 1
    flipped = nb.Nifti1Image(np.asanyarray(image.dataobj)[::-1].copy(), image.affine @ flip)

    labels = np.asanyarray(engine.predict(flipped).labels.dataobj)

    np.testing.assert_array_equal(labels[::-1], np.asanyarray(niivue_segmentation.labels.dataobj))
