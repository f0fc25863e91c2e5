"""The restricted distance transform against a brute-force nearest target, on every axis order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bids_app.metrics import grid_points, restricted_edt


def _brute_force(sources, targets, weights):
    offsets = sources[:, None, :] - targets[None, :, :]
    return np.min(np.sum(weights * offsets * offsets, axis=2), axis=1)


def _points(rng, count, low, high):
    return rng.integers(low, high, size=(count, 3))


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (0.81, 1.21, 2.56)])
def test_every_axis_order_finds_the_nearest_target(order, weights):
    rng = np.random.default_rng(sum(order) * 7 + len(set(weights)))
    shape = np.array([23, 17, 29])
    # Near: both scattered through the box. Far: sources in one corner, targets in the opposite one.
    cases = [(_points(rng, 300, 0, shape), _points(rng, 40, 0, shape)),
             (_points(rng, 200, 0, shape // 3), _points(rng, 30, 2 * shape // 3, shape))]
    for sources, targets in cases:
        found = restricted_edt._squared_distances(
            sources, targets, shape, np.asarray(weights), np.array(order, dtype=np.int64), *grid_points.box(sources))
        np.testing.assert_allclose(found, _brute_force(sources, targets, np.asarray(weights)), rtol=1e-14, atol=0)


def test_sources_on_targets_are_at_zero_and_integer_distances_are_exact():
    rng = np.random.default_rng(3)
    targets = _points(rng, 60, 0, 40)
    sources = np.concatenate([targets[:10], _points(rng, 500, 0, 40)])
    found = restricted_edt.squared_distances(sources, targets, (40, 40, 40), (1.0, 1.0, 1.0))
    assert np.all(found[:10] == 0)
    assert np.array_equal(found, _brute_force(sources, targets, np.ones(3)))


def test_a_single_target_line_reaches_the_whole_box():
    """Only one line holds the target: every other line of the first pass is empty."""
    sources = np.array([[0, 0, 0], [9, 9, 9], [0, 9, 5]])
    targets = np.array([[5, 5, 5]])
    found = restricted_edt.squared_distances(sources, targets, (10, 10, 10), (1.0, 1.0, 1.0))
    assert found.tolist() == [75.0, 48.0, 41.0]


@pytest.mark.parametrize("path", ["window scans", "envelope"])
def test_last_pass_by_window_scans_and_by_envelope(path):
    """The last pass scans each source's window, or builds the line's envelope when the windows add up to
    more: both give the minimum over the whole line."""
    rng = np.random.default_rng(5)
    column = rng.integers(0, 9, 60).astype(float) ** 2
    column[rng.choice(60, 12, replace=False)] = np.inf  # planes without a target
    if path == "envelope":  # every position, each reaching far: windows beyond the envelope's cost
        column[::2] *= 400.0
        at = np.arange(60)
    else:
        at = np.sort(rng.choice(np.flatnonzero(np.isfinite(column)), 3, replace=False))
    weight, scratch = 1.44, 60
    found = np.empty(len(at))
    restricted_edt._last_pass(column, at, weight, np.empty(scratch, np.int64), np.empty(scratch),
                              np.empty((2, scratch)), np.empty(scratch), found)
    offsets = at[:, None] - np.arange(60)[None, :]
    expected = np.min(weight * offsets * offsets + column[None, :], axis=1)
    np.testing.assert_array_equal(found, expected)
    reaches = [int(np.sqrt(column[p] / weight)) + 1 if np.isfinite(column[p]) else 60 for p in at]
    windows = sum(2 * reach + 1 for reach in reaches)
    assert (windows >= restricted_edt._ENVELOPE_STEPS * 60) == (path == "envelope")
