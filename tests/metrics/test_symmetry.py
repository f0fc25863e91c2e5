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


@pytest.mark.parametrize("layouts", [("F", "F"), ("C", "C"), ("F", "C")])
def test_counts_equal_those_of_boolean_masks(layouts):
    """Every count of the one-pass confusion equals the count of its boolean masks, whatever the layouts, with
    labels outside the scored ones and beyond the largest scored one."""
    rng = np.random.default_rng(1)
    palette = np.array([0, 2, 41, 17, 53, 18, 54, 4, 43, 24, 1035, 509])
    reference, prediction = (np.asarray(rng.choice(palette, (30, 20, 10)), order=order) for order in layouts)
    scored = [2, 41, 17, 53, 18, 4, 24]  # 54 not scored: Amygdala has no pair; 43 beyond 41's homolog
    pairs, summary = symmetry(reference, prediction, scored)
    foreground_truth, foreground_guess = np.isin(reference, scored), np.isin(prediction, scored)
    assert summary["foreground_dice"] == pytest.approx(
        2 * np.sum(foreground_truth & foreground_guess) / (foreground_truth.sum() + foreground_guess.sum()), abs=0)
    assert [(row["left_label"], row["right_label"]) for row in pairs] == [(2, 41), (17, 53)]
    swapped = paired = 0
    for row in pairs:
        left, right = row["left_label"], row["right_label"]
        truth_pair, guess_pair = np.isin(reference, [left, right]), np.isin(prediction, [left, right])
        assert row["merged_dice"] == 2 * np.sum(truth_pair & guess_pair) / (truth_pair.sum() + guess_pair.sum())
        left_as_right = np.sum((reference == left) & (prediction == right))
        right_as_left = np.sum((reference == right) & (prediction == left))
        assert row["left_as_right"] == left_as_right / np.sum(reference == left)
        assert row["right_as_left"] == right_as_left / np.sum(reference == right)
        swapped, paired = swapped + left_as_right + right_as_left, paired + truth_pair.sum()
    assert summary["swap_fraction"] == swapped / paired


def test_maps_of_different_shapes_are_refused():
    """The one-pass confusion reads both maps voxel for voxel: a shorter one must not be read past its end."""
    with pytest.raises(ValueError, match="label maps differ in shape"):
        symmetry(np.zeros((4, 4, 4), np.int32), np.zeros((4, 4, 3), np.int32), [17, 53])
