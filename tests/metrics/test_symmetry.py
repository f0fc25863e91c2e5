"""Left/right analysis on a real label map and on the same map with its sides swapped."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.labels import SUBCORTICAL, swap_sides
from bids_app.metrics.structures import compare_label_maps
from bids_app.metrics.symmetry import symmetry


@pytest.fixture(scope="module")
def aseg(shared_data):
    return np.asarray(nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz").dataobj).astype(np.int32)


def test_swapped_sides_are_flagged_with_high_merged_and_low_label_dice(aseg):
    swapped = swap_sides(aseg)
    pairs, summary = symmetry(aseg, swapped, SUBCORTICAL)
    assert summary["hemisphere_swap"] and summary["swap_fraction"] == pytest.approx(1.0)
    assert summary["merged_dice"] == pytest.approx(1.0) and summary["foreground_dice"] == pytest.approx(1.0)
    assert len(pairs) == 8 and all(row["left_as_right"] == 1.0 and row["right_as_left"] == 1.0 for row in pairs)
    per_label = compare_label_maps(aseg, swapped, (2.0, 2.0, 2.0), SUBCORTICAL)
    assert max(values["dice"] for values in per_label.values()) < 0.2


def test_correct_sides_are_not_flagged(aseg):
    shifted = np.roll(aseg, 1, axis=0)
    pairs, summary = symmetry(aseg, shifted, SUBCORTICAL)
    assert not summary["hemisphere_swap"]
    assert summary["swap_fraction"] < 0.05
    assert 0.5 < summary["merged_dice"] < 1.0
    assert {row["structure"] for row in pairs} >= {"Hippocampus", "Thalamus", "Putamen"}
