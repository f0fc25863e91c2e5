"""The selection-based weighted percentile against DeepMind's definition (sort, cumulative sum, search)."""

from __future__ import annotations

import numpy as np
import pytest

from bids_app.metrics.weighted_percentile import weighted_percentile


def _by_sorting(values, weights, percent):
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / np.sum(weights[order])
    return values[order][min(int(np.searchsorted(cumulative, percent / 100.0)), len(values) - 1)]


@pytest.mark.parametrize("percent", [1.0, 50.0, 95.0, 99.9])
def test_equals_the_sorted_cumulative_definition(percent):
    rng = np.random.default_rng(int(percent * 10))
    for size in (1, 2, 31, 33, 500, 20000):
        for values in (rng.random(size) * 30, np.sqrt(rng.integers(0, 40, size)).astype(float)):  # ties too
            weights = rng.random(size) + 0.01
            assert weighted_percentile(values, weights, percent) == _by_sorting(values, weights, percent)


def test_leaves_its_inputs_unchanged_and_has_no_value_when_empty():
    values, weights = np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])
    assert weighted_percentile(values, weights, 95.0) == 3.0
    assert values.tolist() == [3.0, 1.0, 2.0]
    assert weighted_percentile(np.array([]), np.array([]), 95.0) == np.inf
