"""Surface metrics: analytic values for a shifted box, and agreement with DeepMind's surface-distance."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.metrics import far_search, surface
from bids_app.metrics.structures import compare_label_maps, compare_structure
from bids_app.labels import swap_sides


def _box_expectations(a, b, c, spacing):
    """Analytic surfel areas of an a x b x c voxel box and of its corners at distance s0 after a shift."""
    s0, s1, s2 = spacing
    corner = np.sqrt((s1 * s2) ** 2 + (s0 * s2) ** 2 + (s0 * s1) ** 2) / 8
    edge = [s0 * np.hypot(s1, s2) / 2, s1 * np.hypot(s0, s2) / 2, s2 * np.hypot(s0, s1) / 2]
    total = (2 * ((b - 1) * (c - 1) * s1 * s2 + (a - 1) * (c - 1) * s0 * s2 + (a - 1) * (b - 1) * s0 * s1)
             + 4 * ((a - 1) * edge[0] + (b - 1) * edge[1] + (c - 1) * edge[2]) + 8 * corner)
    # The whole face the box leaves behind, and the inner part of the face it moves into.
    moved = ((b - 1) * (c - 1) * s1 * s2 + 2 * (b - 1) * edge[1] + 2 * (c - 1) * edge[2] + 4 * corner
             + (b - 1) * (c - 1) * s1 * s2)
    return total, moved


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.8, 1.2, 2.5)])
def test_box_shifted_by_one_voxel_matches_hand_computed_values(spacing):
    a, b, c = 10, 12, 14
    reference = np.zeros((16, 18, 20), bool)
    reference[3:3 + a, 3:3 + b, 3:3 + c] = True
    prediction = np.roll(reference, 1, axis=0)  # along the finest axis: every moved corner is s0 away
    total, moved = _box_expectations(a, b, c, spacing)

    values = compare_structure(reference, prediction, spacing, tolerance_mm=0.5 * spacing[0])

    assert values["dice"] == pytest.approx((a - 1) / a, abs=1e-12)
    assert values["hd95"] == pytest.approx(spacing[0], abs=1e-12)  # moved / total > 5 %
    assert values["hd"] == pytest.approx(spacing[0], abs=1e-12)
    assert values["nsd"] == pytest.approx(1 - moved / total, abs=1e-9)
    assert values["assd"] == pytest.approx(spacing[0] * moved / total, abs=1e-9)
    at_one_voxel = compare_structure(reference, prediction, spacing, tolerance_mm=spacing[0])
    assert at_one_voxel["nsd"] == pytest.approx(1.0, abs=1e-12)


def test_surfel_area_table_matches_deepmind_for_anisotropic_spacing():
    lookup_tables = pytest.importorskip("surface_distance.lookup_tables")
    for spacing in [(1.0, 1.0, 1.0), (0.7, 1.3, 2.5)]:
        expected = lookup_tables.create_table_neighbour_code_to_surface_area(spacing)
        np.testing.assert_allclose(surface.surfel_areas(spacing), expected, rtol=0, atol=1e-12)


def test_empty_prediction_is_infinite_and_both_empty_not_applicable():
    reference = np.zeros((8, 8, 8), bool)
    reference[2:5, 2:5, 2:5] = True
    empty = compare_structure(reference, np.zeros_like(reference), (1.0, 1.0, 1.0), 1.0)
    assert (empty["status"], empty["dice"], empty["hd95"], empty["assd"]) == ("empty_prediction", 0.0,
                                                                               np.inf, np.inf)
    both = compare_label_maps(np.zeros((8, 8, 8), int), np.zeros((8, 8, 8), int), (1, 1, 1), [17])[17]
    assert both["status"] == "both_empty" and np.isnan(both["dice"]) and np.isnan(both["nsd"])


def _voxelmorph_pair(shared_data):
    seg = np.load(shared_data / "voxelmorph" / "test_scan.npz")["seg"].astype(np.int32)
    # A realistic near miss: the real map shifted by one voxel on one axis and two on another.
    return seg, np.roll(seg, (1, 2), axis=(0, 2))


def _assert_agrees_with_deepmind(reference, prediction, spacing, labels):
    """Our metrics of each label (present in both maps) equal those of DeepMind's surface-distance."""
    surface_distance = pytest.importorskip("surface_distance")
    ours = compare_label_maps(reference, prediction, spacing, labels, tolerance_mm=1.0)
    for label in labels:
        truth, guess = reference == label, prediction == label  # both non-empty: the package needs that
        distances = surface_distance.compute_surface_distances(truth, guess, spacing)
        areas = np.sum(distances["surfel_areas_gt"]) + np.sum(distances["surfel_areas_pred"])
        assd = (np.sum(distances["distances_gt_to_pred"] * distances["surfel_areas_gt"])
                + np.sum(distances["distances_pred_to_gt"] * distances["surfel_areas_pred"])) / areas
        assert ours[label]["nsd"] == pytest.approx(
            surface_distance.compute_surface_dice_at_tolerance(distances, 1.0), abs=1e-12)
        assert ours[label]["hd95"] == pytest.approx(surface_distance.compute_robust_hausdorff(distances, 95),
                                                    abs=1e-12)
        assert ours[label]["hd"] == pytest.approx(surface_distance.compute_robust_hausdorff(distances, 100),
                                                  abs=1e-12)
        assert ours[label]["assd"] == pytest.approx(assd, abs=1e-12)
        assert ours[label]["dice"] == pytest.approx(surface_distance.compute_dice_coefficient(truth, guess),
                                                    abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.9, 1.1, 1.6)])
def test_agrees_with_deepmind_surface_distance_on_real_label_maps(shared_data, spacing):
    reference, prediction = _voxelmorph_pair(shared_data)
    _assert_agrees_with_deepmind(reference, prediction, spacing, [10, 49, 17, 53, 12, 51, 4, 16])


@pytest.fixture(scope="module")
def two_subjects(shared_data):
    """Label maps of two unregistered subjects, in Fortran order as NIfTI files load."""
    maps = shared_data / "synthseg" / "training_label_maps"
    return tuple(np.asarray(nb.load(maps / f"training_seg_0{n}.nii.gz").dataobj).astype(np.int32) for n in (2, 3))


def _force_far_search(monkeypatch, search: str) -> None:
    """Make every far corner go to one search: the k-d tree or the restricted distance transform."""
    for cost in ("TRANSFORM_VOXELS_PER_QUERY", "TRANSFORM_VOXELS_PER_TARGET"):
        monkeypatch.setattr(far_search, cost, 0 if search == "k-d tree" else 10**12)


#: Each far search on an isotropic and an anisotropic grid.
FAR_SEARCH_CASES = [(search, spacing) for search in ("k-d tree", "restricted transform")
                    for spacing in ((1.0, 1.0, 1.0), (0.9, 1.1, 1.6))]


@pytest.mark.slow
@pytest.mark.parametrize(("search", "spacing"), FAR_SEARCH_CASES)
def test_far_surfels_agree_with_deepmind_between_two_subjects(two_subjects, monkeypatch, search, spacing):
    """Most surfels lie beyond the probed offsets, so the far search (each one) gives the distances."""
    reference, prediction = two_subjects
    assert reference.flags.f_contiguous  # compare_label_maps reads it through its transpose
    _force_far_search(monkeypatch, search)
    _assert_agrees_with_deepmind(reference, prediction, spacing, [10, 17, 53, 4])


@pytest.mark.slow
@pytest.mark.parametrize(("search", "spacing"), FAR_SEARCH_CASES)
def test_swapped_hemispheres_agree_with_deepmind(two_subjects, monkeypatch, search, spacing):
    """Left/Right labels swapped: every surfel of a structure lies a hemisphere away from its homolog."""
    reference = two_subjects[0]
    _force_far_search(monkeypatch, search)
    _assert_agrees_with_deepmind(reference, swap_sides(reference), spacing, [17, 53, 12, 4, 43])


@pytest.mark.slow
def test_agrees_with_monai_dice_and_surface_dice_on_real_label_maps(shared_data):
    torch = pytest.importorskip("torch")
    monai_metrics = pytest.importorskip("monai.metrics")
    reference, prediction = _voxelmorph_pair(shared_data)
    spacing = (1.0, 1.0, 1.0)
    labels = [17, 53, 11, 50]
    ours = compare_label_maps(reference, prediction, spacing, labels, tolerance_mm=1.0)
    for label in labels:
        truth = torch.from_numpy(reference == label)[None, None]
        guess = torch.from_numpy(prediction == label)[None, None]
        dice = float(monai_metrics.compute_dice(guess, truth, include_background=True))
        nsd = float(monai_metrics.compute_surface_dice(guess, truth, [1.0], include_background=True,
                                                       spacing=spacing, use_subvoxels=True))
        assert ours[label]["dice"] == pytest.approx(dice, abs=1e-6)
        assert ours[label]["nsd"] == pytest.approx(nsd, abs=1e-6)
