"""Surface distances between two binary masks, with surfels weighted by their area.

The surface of a mask is the set of corners of the voxel grid whose 2x2x2 neighbourhood holds both
foreground and background voxels (Nikolov et al. 2018, as in DeepMind's ``surface-distance``). Each such
corner carries the area of the marching-cubes surface inside its 2x2x2 cell, in mm^2. Distances are
Euclidean, in mm, between corners, found on a crop around the two masks: by probing the other surface's
corner map within a few voxels (``near_search``), then, for the corners still unmatched, by the exact far
search of ``far_search``.

>>> import numpy as np
>>> box = np.zeros((6, 6, 6), bool); box[1:5, 1:5, 1:5] = True
>>> distances = surface_distances(box, box, (1.0, 1.0, 1.0))
>>> float(hausdorff(distances)), float(surface_dice(distances, 1.0))
(0.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from skimage import measure

from bids_app.metrics import far_search, near_search
from bids_app.metrics.weighted_percentile import weighted_percentile
from bids_app.utils.compiled import compiled

#: About how many sources, evenly spread, are probed first, to tell whether the far search will transform the
#: whole box.
_SAMPLE_SIZE = 512
#: Weight of each voxel of a 2x2x2 cell in its neighbour code (cell index (a, b, c) -> bit).
_CELL_WEIGHTS = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]], dtype=np.uint8)


@dataclass(frozen=True)
class SurfaceDistances:
    """Distances (mm) from each surfel of one surface to the other surface, and the surfels' areas (mm^2)."""

    reference_to_prediction: np.ndarray
    reference_areas: np.ndarray
    prediction_to_reference: np.ndarray
    prediction_areas: np.ndarray


def _cell(code: int) -> np.ndarray:
    """The 2x2x2 cell (float 0/1) whose neighbour code is ``code``."""
    return ((code & _CELL_WEIGHTS) > 0).astype(float)


@lru_cache(maxsize=1)
def _cell_triangles() -> tuple[np.ndarray, ...]:
    """Marching-cubes triangles (unit spacing) of each of the 256 cells, drawn around the minority corners.

    Lorensen's table triangulates the inside corners; a cell and its complement (inside and outside
    exchanged) describe the same surface, so the side with fewer corners is triangulated. This gives
    the surfel areas of DeepMind's ``surface-distance`` for every code.
    """
    triangles = [np.zeros((0, 3, 3))]
    for code in range(1, 255):
        minority = code if bin(code).count("1") <= 4 else 255 - code
        vertices, faces, _, _ = measure.marching_cubes(_cell(minority), 0.5, method="lorensen")
        triangles.append(vertices.astype(np.float64)[faces])
    triangles.append(np.zeros((0, 3, 3)))
    return tuple(triangles)


@lru_cache(maxsize=16)
def surfel_areas(spacing: tuple[float, float, float]) -> np.ndarray:
    """Area (mm^2) of the surface inside a 2x2x2 cell, for each of the 256 neighbour codes."""
    scale = np.asarray(spacing, dtype=np.float64)
    areas = np.zeros(256)
    for code, triangles in enumerate(_cell_triangles()):
        if len(triangles):
            corners = triangles * scale
            normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
            areas[code] = 0.5 * np.linalg.norm(normals, axis=1).sum()
    return areas


def _surfels(mask: np.ndarray, spacing: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Border corners of a mask: boolean corner map (shape - 1 per axis), flat corner indices and areas (mm^2).

    Corner ``i`` sits between voxels ``i`` and ``i + 1``; its neighbour code has the bits of ``_CELL_WEIGHTS``,
    and it is a border corner when its code is neither 0 (all background) nor 255 (all inside).

    >>> cell = np.zeros((2, 2, 2), bool); cell[0, 1, 1] = True
    >>> border, corners, areas = _surfels(cell, (1.0, 1.0, 1.0))
    >>> corners.tolist(), bool(areas[0] == surfel_areas((1.0, 1.0, 1.0))[_CELL_WEIGHTS[0, 1, 1]])
    ([0], True)
    """
    voxels = np.ascontiguousarray(mask if mask.dtype == bool else mask != 0).view(np.uint8)
    border, corners, codes = _border_corners(voxels)
    return border, corners, surfel_areas(spacing)[codes]


@compiled
def _border_corners(voxels):
    """Border corner map, flat indices and neighbour codes of the border corners of a 0/1 uint8 volume.

    One pass over the volume, a plane of corners at a time: the codes of each row are built from the 2-voxel
    codes of the four voxel rows around it (kept for two voxel planes), then the rows that hold a border
    corner are read again for their indices.
    """
    nx, ny, nz = voxels.shape
    length = max(nz - 1, 0)
    codes = np.empty((max(nx - 1, 0), max(ny - 1, 0), length), np.uint8)
    border = np.empty(codes.shape, np.bool_)
    held = np.zeros(codes.shape[:2], np.int64)  # border corners per row
    pairs = np.empty((2, ny, length), np.uint8)  # codes of voxel pairs along the rows of two planes
    for x in range(nx):
        plane = pairs[x & 1]
        for y in range(ny):
            row, paired = voxels[x, y], plane[y]
            for z in range(length):
                paired[z] = (row[z] << 1) | row[z + 1]
        if x == 0:
            continue
        low = pairs[(x - 1) & 1]
        for y in range(ny - 1):
            low_0, low_1, high_0, high_1 = low[y], low[y + 1], plane[y], plane[y + 1]
            row_codes, row_border = codes[x - 1, y], border[x - 1, y].view(np.uint8)
            count = 0
            for z in range(length):
                code = (low_0[z] << 6) | (low_1[z] << 4) | (high_0[z] << 2) | high_1[z]
                row_codes[z] = code
                on = np.uint8(code - np.uint8(1)) < np.uint8(254)  # neither 0 nor 255
                row_border[z] = on
                count += on
            held[x - 1, y] = count
    corners = np.empty(held.sum(), np.int64)
    corner_codes = np.empty(len(corners), np.uint8)
    found = 0
    for x in range(held.shape[0]):
        for y in range(held.shape[1]):
            if held[x, y]:
                start = (x * held.shape[1] + y) * length
                row_codes, row_border = codes[x, y], border[x, y]
                for z in range(length):
                    if row_border[z]:
                        corners[found], corner_codes[found] = start + z, row_codes[z]
                        found += 1
    return border, corners, corner_codes


def _has_margin(mask: np.ndarray, margin) -> bool:
    """Whether the outer ``margin`` voxels of ``mask`` along every axis are all background."""
    for axis, width in enumerate(margin):
        if mask.shape[axis] <= 2 * width:
            return False
        edges = np.moveaxis(mask, axis, 0)
        if edges[:width].any() or edges[-width:].any():
            return False
    return True


def _distances(sources: np.ndarray, target_border: np.ndarray, targets: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) from each flat corner index of ``sources`` to the nearest target corner (inf if none):
    probed near the targets, searched exactly beyond.

    About ``_SAMPLE_SIZE`` sources are probed first, each at every offset: when so many lie beyond the probes
    that the far search will take the distance transform of the whole box anyway, every source goes to it at
    once (its cost hardly depends on how many sources it serves), and neither the coarse blocks nor the
    probes are made.
    """
    if not len(targets) or not len(sources):
        return np.full(len(sources), np.inf)
    stride = max(len(sources) // _SAMPLE_SIZE, 1)
    sampled = near_search.near_distances(np.ascontiguousarray(sources[::stride]), target_border, None, spacing)
    if far_search.transform_pays(np.count_nonzero(np.isinf(sampled)) * stride, len(targets), target_border.size):
        return far_search.far_distances(sources, targets, target_border.shape, spacing)
    near = near_search.blocks_near(targets, target_border.shape, spacing)
    distances = near_search.near_distances(sources, target_border, near, spacing)
    far = np.flatnonzero(np.isinf(distances))
    if len(far):
        distances[far] = far_search.far_distances(sources[far], targets, target_border.shape, spacing)
    return distances


def surface_distances(reference: np.ndarray, prediction: np.ndarray, spacing) -> SurfaceDistances:
    """Surface distances between two boolean masks on the same grid (crop them to their union first).

    Masks without ``near_search.probe_margin(spacing)`` background voxels on every side are padded.
    """
    if reference.shape != prediction.shape or reference.ndim != 3:
        raise ValueError(f"masks must be 3D and of one shape, got {reference.shape} and {prediction.shape}")
    spacing = tuple(float(s) for s in spacing)
    margin = near_search.probe_margin(spacing)
    if not (_has_margin(reference, margin) and _has_margin(prediction, margin)):
        reference, prediction = (np.pad(mask, [(m, m) for m in margin]) for mask in (reference, prediction))
    reference_border, reference_corners, reference_areas = _surfels(reference, spacing)
    prediction_border, prediction_corners, prediction_areas = _surfels(prediction, spacing)
    return SurfaceDistances(
        _distances(reference_corners, prediction_border, prediction_corners, spacing), reference_areas,
        _distances(prediction_corners, reference_border, reference_corners, spacing), prediction_areas,
    )


def hausdorff(distances: SurfaceDistances, percent: float = 100.0) -> float:
    """Symmetric Hausdorff distance (mm); below 100 %, the area-weighted ``percent`` percentile (HD95)."""
    if percent >= 100.0:
        directed = [d.max() if len(d) else np.inf
                    for d in (distances.reference_to_prediction, distances.prediction_to_reference)]
        return float(max(directed))
    return max(
        weighted_percentile(distances.reference_to_prediction, distances.reference_areas, percent),
        weighted_percentile(distances.prediction_to_reference, distances.prediction_areas, percent),
    )


def average_surface_distance(distances: SurfaceDistances) -> float:
    """Average symmetric surface distance (mm): area-weighted mean over the surfels of both surfaces."""
    if not len(distances.reference_areas) or not len(distances.prediction_areas):
        return np.inf
    weighted = (np.sum(distances.reference_to_prediction * distances.reference_areas)
                + np.sum(distances.prediction_to_reference * distances.prediction_areas))
    return float(weighted / (np.sum(distances.reference_areas) + np.sum(distances.prediction_areas)))


def surface_dice(distances: SurfaceDistances, tolerance_mm: float) -> float:
    """Normalized surface Dice: area of both surfaces within ``tolerance_mm`` of the other, over all area."""
    total = np.sum(distances.reference_areas) + np.sum(distances.prediction_areas)
    if total == 0:
        return np.nan
    near = (np.sum(distances.reference_areas[distances.reference_to_prediction <= tolerance_mm])
            + np.sum(distances.prediction_areas[distances.prediction_to_reference <= tolerance_mm]))
    return float(near / total)
