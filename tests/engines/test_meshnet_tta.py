"""MeshNet's test-time flip on a real head stored with permuted axes: labels on the right side, SelfConsistency.

The raw head with its skull goes through the same flip in the quick start (``tests/test_participant.py``):
every structure there, within the plausible volumes, none flagged."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import MeshNetEngine
from bids_app.labels import SUBCORTICAL, homologous_pairs
from bids_app.utils.mirror import SELF_CONSISTENCY_THRESHOLD


@pytest.fixture(scope="module")
def permuted_head(shared_data) -> nb.Nifti1Image:
    """The niivue subject's T1w (LIA) stored with its voxel axes as (A, L, S): left-right is the middle axis."""
    norm = nb.load(shared_data / "niivue" / "norm.mgz")
    orientation = nb.orientations.ornt_transform(nb.io_orientation(norm.affine), nb.orientations.axcodes2ornt("ALS"))
    return nb.Nifti1Image(np.asanyarray(norm.dataobj), norm.affine).as_reoriented(orientation)


def _mean_world_x(labels: nb.spatialimages.SpatialImage, label: int) -> float:
    voxels = np.array(np.nonzero(np.asanyarray(labels.dataobj) == label), dtype=float)
    return float((labels.affine[0, :3] @ voxels).mean() + labels.affine[0, 3])


@pytest.mark.slow
def test_tta_keeps_each_structure_on_its_side_and_scores_both_passes(permuted_head):
    assert nb.aff2axcodes(permuted_head.affine) == ("A", "L", "S")
    segmentation = MeshNetEngine(tta=True).predict(permuted_head)
    labels = segmentation.labels
    assert labels.shape == permuted_head.shape
    pairs = homologous_pairs(SUBCORTICAL)
    for left, right in pairs:  # Left structures at smaller world x (RAS) than their Right homologs
        assert _mean_world_x(labels, left) < _mean_world_x(labels, right) - 10, (left, right)
    consistency = segmentation.provenance["SelfConsistency"]
    assert segmentation.provenance["TestTimeFlip"] is True
    assert consistency["Threshold"] == SELF_CONSISTENCY_THRESHOLD
    assert len(consistency["Dice"]) == len(SUBCORTICAL)
    assert min(consistency["Dice"].values()) > SELF_CONSISTENCY_THRESHOLD and consistency["Flagged"] == []
