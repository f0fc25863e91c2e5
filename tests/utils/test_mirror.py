"""Test-time flip on a real label map: the mirrored pass comes back on the right side of the head."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.interfaces.plausibility import CheckPlausibility
from bids_app.labels import LABELS, SUBCORTICAL, homolog
from bids_app.utils.mirror import (
    SELF_CONSISTENCY_THRESHOLD,
    left_right_axis,
    self_consistency,
    add_unmirrored,
    mirrored_groups,
    self_consistency_flags,
)
from bids_app.utils.sample_data import _aseg_only

#: Voxel axis 0 runs inferior, 1 anterior, 2 left (1.2 x 0.9 x 1.1 mm): left-right is the last axis.
PERMUTED = np.array([[0, 0, -1.1, 90], [0, 0.9, 0, -110], [-1.2, 0, 0, 100], [0, 0, 0, 1]])


@pytest.fixture(scope="module")
def subcortical_labels(shared_data) -> np.ndarray:
    """FreeSurfer's subcortical labels of the niivue subject (LIA), on the voxel axes of :data:`PERMUTED`."""
    aseg = _aseg_only(np.asanyarray(nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz").dataobj))
    labels = np.where(np.isin(aseg, SUBCORTICAL), aseg, 0).astype(np.int16)
    box = tuple(slice(int(i.min()) - 2, int(i.max()) + 3) for i in np.nonzero(labels))
    return np.ascontiguousarray(labels[box].transpose(1, 2, 0))  # LIA (x, y, z) -> (I, A, L) voxel axes


def _unmirrored(mirrored_head_labels: np.ndarray, channels, axis: int) -> np.ndarray:
    """Labels of the mirrored pass back on the head: each channel's one-hot map grouped into its homolog's
    channel, as the engine sums a class's posterior, then flipped back along ``axis``."""
    groups = mirrored_groups(range(len(channels)), channels)
    grouped = np.zeros((len(channels), *mirrored_head_labels.shape), np.float32)
    for channel, label in enumerate(channels):
        grouped[groups[channel]] += mirrored_head_labels == label
    restored = np.zeros_like(grouped)
    add_unmirrored(restored, grouped, axis)
    return np.asarray(channels)[restored.argmax(0)]


def _world_x(labels: np.ndarray, label: int) -> float:
    """Mean world (RAS) left-right coordinate of ``label`` on the :data:`PERMUTED` grid."""
    voxels = np.array(np.nonzero(labels == label), dtype=float)
    return float((PERMUTED[0, :3] @ voxels).mean() + PERMUTED[0, 3])


def test_left_right_axis_comes_from_the_affine():
    assert left_right_axis(PERMUTED) == 2
    assert nb.aff2axcodes(PERMUTED) == ("I", "A", "L")


def test_mirrored_pass_returns_each_structure_to_its_own_side(subcortical_labels):
    channels = (0, *sorted(SUBCORTICAL))
    axis = left_right_axis(PERMUTED)
    # What a network that segments anatomy perfectly draws on the mirrored head: the mirror image of the
    # labels, in which every Left structure now looks like (and is labelled as) its Right homolog.
    swap = np.array([homolog(label) or 0 for label in range(max(channels) + 1)], np.int16)
    mirrored_head_labels = swap[np.flip(subcortical_labels, axis)]
    assert _world_x(mirrored_head_labels, 17) < _world_x(mirrored_head_labels, 53)  # drawn as a head, L on L
    restored = _unmirrored(mirrored_head_labels, channels, axis)
    np.testing.assert_array_equal(restored, subcortical_labels)
    for left in (10, 11, 12, 13, 17, 18, 26, 28):
        assert _world_x(restored, left) < _world_x(restored, homolog(left)), LABELS[left].name
    field = self_consistency(subcortical_labels, restored)
    assert set(field["Dice"].values()) == {1.0} and len(field["Dice"]) == 16 and field["Flagged"] == []


def test_flipping_along_a_wrong_axis_is_flagged(subcortical_labels):
    channels = (0, *sorted(SUBCORTICAL))
    swap = np.array([homolog(label) or 0 for label in range(max(channels) + 1)], np.int16)
    mirrored_head_labels = swap[np.flip(subcortical_labels, 2)]
    wrong = _unmirrored(mirrored_head_labels, channels, 0)
    field = self_consistency(subcortical_labels, wrong)
    assert max(field["Dice"].values()) < SELF_CONSISTENCY_THRESHOLD
    assert len(field["Flagged"]) == 16
    flags = self_consistency_flags(field)
    assert len(flags) == 16 and "Left-Hippocampus" in " ".join(flags)


def test_self_consistency_flags_count_as_plausibility_failures(shared_data, tmp_path):
    aseg = _aseg_only(np.asanyarray(nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz").dataobj))
    dseg = tmp_path / "dseg.nii.gz"
    nb.Nifti1Image(aseg.astype(np.int16), nb.load(shared_data / "niivue" / "norm.mgz").affine).to_filename(dseg)
    field = {"Dice": {"Left-Hippocampus": 0.5, "Right-Hippocampus": 0.91}, "Threshold": SELF_CONSISTENCY_THRESHOLD,
             "Flagged": ["Left-Hippocampus"]}
    provenance = tmp_path / "provenance.json"
    provenance.write_text(json.dumps({"Engine": "meshnet", "SelfConsistency": field}))
    plain = CheckPlausibility(in_file=str(dseg), expected_labels=list(SUBCORTICAL)).run().outputs.flags
    assert plain == []  # FreeSurfer's own labels pass every other check
    checked = CheckPlausibility(in_file=str(dseg), expected_labels=list(SUBCORTICAL), provenance=str(provenance))
    flags = checked.run().outputs.fields["QualityFlags"]
    assert len(flags) == 1 and flags[0].startswith("Left-Hippocampus: the plain and the mirrored pass agree only")
