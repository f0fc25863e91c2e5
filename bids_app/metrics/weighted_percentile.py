"""Area-weighted percentile of surface distances by selection, without sorting them all."""

from __future__ import annotations

import numpy as np

from bids_app.utils.compiled import compiled

#: Ranges at most this long are finished by insertion sort.
_SMALL = 32


def weighted_percentile(values: np.ndarray, weights: np.ndarray, percent: float) -> float:
    """The smallest value whose cumulative weight, over the values sorted ascending, reaches ``percent`` % of
    the total (the largest value if rounding leaves it short; inf for no value): DeepMind's robust Hausdorff
    percentile, found by a three-way quickselect that carries the weight below the active range.

    >>> float(weighted_percentile(np.array([4.0, 1.0, 3.0, 2.0]), np.array([1.0, 1.0, 1.0, 7.0]), 50.0))
    2.0
    """
    if not len(values):
        return np.inf
    return float(_select(values.astype(np.float64), weights.astype(np.float64), percent / 100.0))


@compiled
def _select(values, weights, fraction):
    target = fraction * weights.sum()
    if target <= 0:
        return values.min()
    low, high, below = 0, len(values), 0.0  # every value left of low is below the active range [low, high)
    while high - low > _SMALL:
        pivot = _median_of_three(values[low], values[(low + high) // 2], values[high - 1])
        less, more = _partition(values, weights, low, high, pivot)  # [low, less) < pivot <= [less, more) < [more, high)
        weight_less = weights[low:less].sum()
        if below + weight_less >= target:
            high = less
            continue
        below += weight_less + weights[less:more].sum()
        if below >= target:
            return pivot
        low = more
    _insertion_sort(values, weights, low, high)
    for index in range(low, high):
        below += weights[index]
        if below >= target:
            return values[index]
    return values.max()  # rounding left the total short of the target


@compiled
def _median_of_three(first, second, third):
    if first > second:
        first, second = second, first
    return max(first, min(second, third))


@compiled
def _insertion_sort(values, weights, low, high):
    """Sort values[low:high] ascending, weights alike."""
    for index in range(low + 1, high):
        value, weight, place = values[index], weights[index], index
        while place > low and values[place - 1] > value:
            values[place], weights[place] = values[place - 1], weights[place - 1]
            place -= 1
        values[place], weights[place] = value, weight


@compiled
def _partition(values, weights, low, high, pivot):
    """Three-way partition of values[low:high] (weights alike) around ``pivot``: returns (less, more)."""
    less, index, more = low, low, high
    while index < more:
        if values[index] < pivot:
            values[less], values[index] = values[index], values[less]
            weights[less], weights[index] = weights[index], weights[less]
            less += 1
            index += 1
        elif values[index] > pivot:
            more -= 1
            values[more], values[index] = values[index], values[more]
            weights[more], weights[index] = weights[index], weights[more]
        else:
            index += 1
    return less, more
