"""MeshNet's test-time flip on a real raw head (skull and all) stored with permuted axes: every structure there,
of a plausible size and on its own side, and SelfConsistency. (The quick start checks the same head as stored.)"""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import MeshNetEngine
from bids_app.labels import LABELS, SUBCORTICAL, homologous_pairs, structure_name
from bids_app.utils.mirror import SELF_CONSISTENCY_THRESHOLD

#: Adult volumes (mm^3) well outside which a structure is implausible; generous on purpose.
PLAUSIBLE_VOLUME = {
    "Thalamus": (4000, 11000), "Caudate": (2000, 6500), "Putamen": (3000, 8000), "Pallidum": (700, 3000),
    "Hippocampus": (2500, 6000), "Amygdala": (700, 2500), "Accumbens-area": (150, 1200),
    "VentralDC": (2500, 6000),
}


@pytest.fixture(scope="module")
def permuted_head(shared_data) -> nb.Nifti1Image:
    """brainchop's raw head stored with its voxel axes as (A, L, S): left-right is the middle axis."""
    head = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz")
    orientation = nb.orientations.ornt_transform(nb.io_orientation(head.affine), nb.orientations.axcodes2ornt("ALS"))
    return nb.Nifti1Image(np.asanyarray(head.dataobj), head.affine).as_reoriented(orientation)


def _mean_world_x(labels: nb.spatialimages.SpatialImage, label: int) -> float:
    voxels = np.array(np.nonzero(np.asanyarray(labels.dataobj) == label), dtype=float)
    return float((labels.affine[0, :3] @ voxels).mean() + labels.affine[0, 3])


@pytest.mark.slow
def test_tta_keeps_each_structure_on_its_side_and_scores_both_passes(permuted_head):
    assert nb.aff2axcodes(permuted_head.affine) == ("A", "L", "S")
    segmentation = MeshNetEngine(tta=True).predict(permuted_head)
    labels = segmentation.labels
    assert labels.shape == permuted_head.shape
    voxel_mm3 = float(np.prod(labels.header.get_zooms()[:3]))
    counts = dict(zip(*np.unique(np.asanyarray(labels.dataobj), return_counts=True)))
    for label in SUBCORTICAL:
        low, high = PLAUSIBLE_VOLUME[structure_name(LABELS[label].name)]
        assert low <= counts.get(label, 0) * voxel_mm3 <= high, (LABELS[label].name, counts.get(label, 0))
    pairs = homologous_pairs(SUBCORTICAL)
    for left, right in pairs:  # Left structures at smaller world x (RAS) than their Right homologs
        assert _mean_world_x(labels, left) < _mean_world_x(labels, right) - 10, (left, right)
    consistency = segmentation.provenance["SelfConsistency"]
    assert segmentation.provenance["TestTimeFlip"] is True
    assert consistency["Threshold"] == SELF_CONSISTENCY_THRESHOLD
    assert len(consistency["Dice"]) == len(SUBCORTICAL)
    assert min(consistency["Dice"].values()) > SELF_CONSISTENCY_THRESHOLD and consistency["Flagged"] == []
