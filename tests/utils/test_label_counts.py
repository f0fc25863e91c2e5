"""Label counts and extents against NumPy's own count and each label's voxels."""

from __future__ import annotations

import numpy as np
import pytest

from bids_app.utils.label_counts import label_counts, label_extents


def _random_map(seed: int, shape=(23, 17, 29), dtype=np.int32) -> np.ndarray:
    """Blocky labels (runs along every axis), a few single voxels, labels up to 60, some absent."""
    rng = np.random.default_rng(seed)
    coarse = rng.choice([0, 0, 2, 3, 17, 53, 60], size=tuple(n // 4 + 1 for n in shape))
    data = np.kron(coarse, np.ones((4, 4, 4), int))[:shape[0], :shape[1], :shape[2]]
    data[tuple(rng.integers(0, n, 20) for n in shape)] = rng.integers(0, 61, 20)
    return data.astype(dtype)


def _expected_boxes(data: np.ndarray) -> dict[int, tuple[slice, ...]]:
    boxes = {}
    for label in np.unique(data):
        if label:
            where = np.nonzero(data == label)
            boxes[int(label)] = tuple(slice(int(axis.min()), int(axis.max()) + 1) for axis in where)
    return boxes


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_extents_are_the_counts_and_boxes_of_every_label(layout, dtype):
    for seed in range(5):
        data = _random_map(seed, dtype=dtype)
        if layout == "F":
            data = np.asfortranarray(data)
        elif layout == "strided":
            data = _random_map(seed, shape=(46, 17, 58), dtype=dtype)[::2, :, ::2]
        extents = label_extents(data)
        assert np.array_equal(extents.counts, np.bincount(data.ravel()))
        assert extents.boxes(range(100)) == _expected_boxes(data)
        assert np.array_equal(label_counts(data), extents.counts)


def test_moved_extents_are_those_of_the_relabelled_map():
    data = _random_map(7)
    for label, into in ((3, 2), (60, 17), (53, 59)):  # into a present label, and into an absent one
        moved = label_extents(data).moved(label, into)
        relabelled = np.where(data == label, into, data)
        assert np.array_equal(np.trim_zeros(moved.counts, "b"), np.bincount(relabelled.ravel()))
        assert moved.boxes(range(100)) == _expected_boxes(relabelled)


def test_negative_labels_and_other_dimensions_are_refused():
    with pytest.raises(ValueError, match="negative"):
        label_extents(np.full((2, 2, 2), -1, np.int32))
    with pytest.raises(ValueError, match="3D"):
        label_extents(np.zeros((2, 2), np.int32))


@pytest.mark.parametrize("layout", ["C", "F"])
def test_a_stray_huge_label_costs_no_memory_for_the_labels_absent(layout):
    """One voxel of label 2**26 (a corrupt map): the tables span 2**26 rows, but only the present ones are
    written, so resident memory grows by far less than the tables' 3.5 GB."""
    data = np.zeros((8, 8, 8), np.int32, order=layout)
    data[2, 3, 4] = 2**26

    def resident_mib() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 2**20

    before = resident_mib()
    extents = label_extents(data)
    grown = resident_mib() - before
    assert extents.counts[2**26] == 1 and extents.boxes([2**26]) == {2**26: (slice(2, 3), slice(3, 4), slice(4, 5))}
    assert grown < 256, f"{grown:.0f} MiB resident for one voxel"
