"""Exact squared distance from given grid points to the nearest of other grid points, by a distance
transform computed only where those points need it.

The separable Euclidean distance transform (Felzenszwalb and Huttenlocher 2012) runs one pass per axis: the
distance along axis ``a`` to the nearest target on each line, then the lower envelope of parabolas along
``b``, then along ``c``. Here the first pass sweeps the box along ``a`` but keeps only the planes that
the sources span; the second runs one plane at a time, only on the planes that hold a source, and keeps
the rows of the plane that hold a source; the last runs only on those lines, evaluated at the sources (or,
when a source's own plane bounds its distance tightly, by scanning the planes outward from its own until
their offset alone exceeds the best found). The axis order is the one that fills the fewest voxels. Squared
distances are weighted sums of squared integer offsets (weights: squared spacing), the same sums DeepMind's
distance transform takes the square root of.

>>> import numpy as np
>>> sources, targets = np.array([[0, 0, 0], [4, 3, 0]]), np.array([[4, 0, 0], [0, 0, 2]])
>>> squared_distances(sources, targets, (5, 4, 3), (1.0, 1.0, 4.0)).tolist()
[16.0, 9.0]
"""

from __future__ import annotations

import itertools

import numpy as np

from bids_app.metrics import grid_points
from bids_app.utils.compiled import compiled

#: Offset stored for a line of the first pass that holds no target.
_NO_TARGET = -1
#: About how many steps of a window scan take the time of one parabola of a lower envelope.
_ENVELOPE_STEPS = 16


def squared_distances(sources: np.ndarray, targets: np.ndarray, shape, weights, source_box=None) -> np.ndarray:
    """Squared distance from each source to its nearest target: ``sum(weights * offset ** 2)``, minimal.

    ``sources`` and ``targets`` are (N, 3) integer points inside a box of ``shape``; ``targets`` must not be
    empty. ``weights`` are the squared voxel sizes. ``source_box``: the lowest corner and extent of the
    sources, when the caller has them.
    """
    sources = np.ascontiguousarray(sources, dtype=np.int64)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    shape = np.asarray(shape, dtype=np.int64)
    low, spans = source_box if source_box is not None else grid_points.box(sources)
    order = _cheapest_order(shape, spans)
    return _squared_distances(sources, targets, shape, np.asarray(weights, dtype=np.float64), order, low, spans)


def _cheapest_order(shape: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Axis order (a, b, c) whose passes fill the fewest voxels, ``spans`` being the sources' extents.

    >>> _cheapest_order(np.array([100, 100, 100]), np.array([100, 100, 10])).tolist()[0]
    2
    """
    def filled(order):
        a, b, c = order
        return spans[a] * shape[b] * shape[c] + spans[a] * spans[b] * shape[c]
    return np.array(min(itertools.permutations(range(3)), key=filled), dtype=np.int64)


@compiled
def _squared_distances(sources, targets, shape, weights, order, low, spans):
    """``squared_distances`` along the axes ``order``; ``low`` and ``spans``: the sources' box."""
    a, b, c = order[0], order[1], order[2]
    length_b, length_c = shape[b], shape[c]
    low_a, low_b, span_a, span_b = low[a], low[b], spans[a], spans[b]
    is_target = np.zeros((shape[a], length_c, length_b), np.uint8)
    for point in targets:
        is_target[point[a], point[c], point[b]] = 1
    offsets = _offsets_along_first_axis(is_target, low_a, span_a)
    # sources of each (a, b) line, in their given order (ascending along c for flat corner order)
    source_keys = (sources[:, a] - low_a) * span_b + (sources[:, b] - low_b)
    key_starts, grouped = _buckets(source_keys, span_a * span_b, np.arange(len(sources)))
    longest = max(length_b, length_c)
    rows, held_rows = np.empty((length_c, span_b)), np.empty(span_b, np.int64)
    apexes, values = np.empty(longest, np.int64), np.empty(longest)
    crossings, lifted = np.empty((2, longest)), np.empty(longest)
    positions, found = np.empty(len(sources), np.int64), np.empty(len(sources))
    squared = np.empty(len(sources))
    for plane in range(span_a):
        first_key = plane * span_b
        if key_starts[first_key] == key_starts[first_key + span_b]:
            continue  # no source in this plane
        held = 0
        for line_b in range(span_b):
            if key_starts[first_key + line_b] != key_starts[first_key + line_b + 1]:
                held_rows[held] = low_b + line_b
                held += 1
        for line_c in range(length_c):  # second pass: the plane's squared distance within each held row
            count = _envelope(offsets[plane, line_c], _squared_offset, weights[a], weights[b], apexes, values,
                              crossings, lifted)
            _evaluate(count, apexes, values, crossings, weights[b], held_rows[:held], rows[line_c])
        held = 0
        for line_b in range(span_b):  # last pass: each line of the plane that holds sources
            start, stop = key_starts[first_key + line_b], key_starts[first_key + line_b + 1]
            if start == stop:
                continue
            for k in range(stop - start):
                positions[k] = sources[grouped[start + k], c]
            _last_pass(rows[:, held], positions[:stop - start], weights[c], apexes, values, crossings, lifted,
                       found)
            held += 1
            for k in range(stop - start):
                squared[grouped[start + k]] = found[k]
    return squared


@compiled
def _offsets_along_first_axis(is_target, low, span):
    """|i - nearest target| along the first axis, for i in [low, low + span), as [i, c, b] (or _NO_TARGET).

    A forward then a backward sweep along the axis carry the last target seen on every (c, b) line, a plane
    at a time, reading and writing in memory order; a line without a target so far holds a position beyond
    the box, so that every step is the same branchless update.
    """
    length, lines_c, lines_b = is_target.shape
    offsets = np.empty((span, lines_c, lines_b), np.int32)
    last = np.full((lines_c, lines_b), -length - 1, np.int32)  # farther than the box: no target
    for i in range(low + span):
        for c in range(lines_c):
            row, seen = is_target[i, c], last[c]
            for b in range(lines_b):
                seen[b] = i if row[b] else seen[b]
            if i >= low:
                out = offsets[i - low, c]
                for b in range(lines_b):
                    out[b] = i - seen[b]
    last[:] = 2 * length + 1
    for i in range(length - 1, low - 1, -1):
        for c in range(lines_c):
            row, seen = is_target[i, c], last[c]
            for b in range(lines_b):
                seen[b] = i if row[b] else seen[b]
            if i < low + span:
                out = offsets[i - low, c]
                for b in range(lines_b):
                    nearest = min(out[b], seen[b] - i)
                    out[b] = _NO_TARGET if nearest > length else nearest
    return offsets


@compiled
def _buckets(keys, count, items):
    """``items`` grouped by their integer key (0 <= key < count), stable: (bucket starts (count + 1), items)."""
    starts = np.zeros(count + 1, np.int64)
    for key in keys:
        starts[key + 1] += 1
    starts = np.cumsum(starts)
    grouped, filled = np.empty_like(items), starts[:-1].copy()
    for index in range(len(keys)):
        grouped[filled[keys[index]]] = items[index]
        filled[keys[index]] += 1
    return starts, grouped


@compiled
def _last_pass(column, at, weight, apexes, values, crossings, lifted, found):
    """found[k] = min over q of weight * (at[k] - q) ** 2 + column[q], for the sources of one line.

    A source's own plane bounds its distance, so only the planes within that bound can hold its nearest
    target: each source scans the planes outward from its own, stopping once the plane's offset alone costs
    more than the best found, unless the bounds of the sources' own planes add up to more steps than building
    the line's envelope takes.
    """
    length, windows = len(column), 0
    for k in range(len(at)):
        own = column[at[k]]
        windows += 2 * length + 1 if own == np.inf else 2 * int(np.sqrt(own / weight)) + 3
    if windows < _ENVELOPE_STEPS * length:
        for k in range(len(at)):
            p = at[k]
            best, step = column[p], 1
            while weight * step * step < best and (step <= p or p + step < length):
                if step <= p:
                    best = min(best, weight * step * step + column[p - step])
                if p + step < length:
                    best = min(best, weight * step * step + column[p + step])
                step += 1
            found[k] = best
        return
    count = _envelope(column, _stored_value, 1.0, weight, apexes, values, crossings, lifted)
    _evaluate(count, apexes, values, crossings, weight, at, found)


@compiled
def _squared_offset(line, q, weight):
    """Squared distance from a first-pass offset (inf where the line holds no target)."""
    return np.inf if line[q] == _NO_TARGET else weight * line[q] * line[q]


@compiled
def _stored_value(line, q, weight):
    """The value as stored (inf where absent)."""
    return line[q]


@compiled
def _envelope(line, value_of, line_weight, weight, apexes, values, crossings, lifted):
    """Lower envelope of the parabolas weight * (p - q) ** 2 + value_of(line, q, line_weight) over the finite
    values (Felzenszwalb's algorithm): returns how many parabolas it keeps, and fills their apexes q, their
    values and where each starts to be lowest, as the fraction crossings[0] / crossings[1] (a division per
    parabola would stall the loop).

    ``value_of`` reads a value from the line: a first-pass offset, squared and weighted, or a stored value
    (passed as a compiled function, it is compiled into the loop).
    """
    count = -1
    for q in range(len(line)):
        value = value_of(line, q, line_weight)
        if value == np.inf:
            continue
        height = value + weight * q * q
        # pop the parabolas that the new one hides: it crosses them before they start to be lowest
        while count > 0 and (height - lifted[count]) * crossings[1, count] <= (
                crossings[0, count] * (2.0 * weight * (q - apexes[count]))):
            count -= 1
        count += 1
        apexes[count], values[count], lifted[count] = q, value, height
        if count:
            crossings[0, count] = height - lifted[count - 1]
            crossings[1, count] = 2.0 * weight * (q - apexes[count - 1])
    return count + 1


@compiled
def _evaluate(count, apexes, values, crossings, weight, positions, out):
    """out[k] = the lower envelope of ``_envelope`` (``count`` parabolas) at positions[k], inf if it is
    empty (fastest when the positions ascend)."""
    if count == 0:
        out[:len(positions)] = np.inf
        return
    segment = 0
    for k in range(len(positions)):
        p = positions[k]
        if k and p < positions[k - 1]:
            segment = 0
        while segment + 1 < count and crossings[0, segment + 1] < p * crossings[1, segment + 1]:
            segment += 1
        q = apexes[segment]
        out[k] = weight * (p - q) * (p - q) + values[segment]
