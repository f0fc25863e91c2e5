"""Surface distances between two binary masks, with surfels weighted by their area.

The surface of a mask is the set of corners of the voxel grid whose 2x2x2 neighbourhood holds both
foreground and background voxels (Nikolov et al. 2018, as in DeepMind's ``surface-distance``). Each such
corner carries the area of the marching-cubes surface inside its 2x2x2 cell, in mm^2. Distances are
Euclidean, in mm, between corners, found on a crop around the two masks.

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
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import measure

#: Weight of each voxel of a 2x2x2 cell in its neighbour code (cell index (a, b, c) -> bit).
_CELL_WEIGHTS = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]], dtype=np.uint8)
#: Radius (in voxels of the coarsest axis) searched by probing offsets before a global search.
_NEAR_VOXELS = 3
#: About how many crop voxels a distance transform handles in the time of one far k-d tree query.
_TREE_TO_TRANSFORM_COST = 300


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


def neighbour_codes(mask: np.ndarray) -> np.ndarray:
    """Neighbour code of every grid corner around ``mask`` (shape + 1 per axis).

    Corner ``i`` sits between voxels ``i - 1`` and ``i``; voxels outside the mask count as background.
    """
    padded = np.pad(mask.astype(np.uint8), 1)
    codes = np.zeros(tuple(n + 1 for n in mask.shape), dtype=np.uint8)
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                shifted = padded[a:a + codes.shape[0], b:b + codes.shape[1], c:c + codes.shape[2]]
                codes |= shifted * _CELL_WEIGHTS[a, b, c]
    return codes


def _surfels(mask: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Border corners of ``mask``: boolean corner map, corner indices and areas (mm^2)."""
    codes = neighbour_codes(mask)
    border = (codes != 0) & (codes != 255)
    areas = surfel_areas(tuple(float(s) for s in spacing))[codes[border]]
    return border, np.argwhere(border), areas


@lru_cache(maxsize=16)
def _near_offsets(spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer corner offsets within ``_NEAR_VOXELS`` voxels (in mm), their lengths (mm), and the reach per axis."""
    scale = np.asarray(spacing, dtype=np.float64)
    radius = _NEAR_VOXELS * scale.max()
    reach = np.ceil(radius / scale).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), axis=-1).reshape(-1, 3)
    lengths = np.sqrt(np.sum((grid * scale) ** 2, axis=1))
    keep = lengths <= radius
    order = np.argsort(lengths[keep], kind="stable")
    return grid[keep][order], lengths[keep][order], reach


def _distances(corners: np.ndarray, target_border: np.ndarray, target_corners: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) from each of ``corners`` to the nearest target corner (inf when there is none).

    Near corners are found by probing the target's border map at offsets of increasing length (the
    first hit is the nearest); the few corners farther than ``_NEAR_VOXELS`` voxels go to an exact k-d
    tree query, or, when they are many, to a Euclidean distance transform of the crop.
    """
    distances = np.full(len(corners), np.inf)
    if not len(target_corners) or not len(corners):
        return distances
    spacing = tuple(float(s) for s in spacing)
    offsets, lengths, reach = _near_offsets(spacing)
    padded = np.pad(target_border, [(r, r) for r in reach]).ravel()
    strides = np.array([target_border.shape[1] + 2 * reach[1], 1, 1]) * np.array(
        [target_border.shape[2] + 2 * reach[2], target_border.shape[2] + 2 * reach[2], 1])
    pending = np.arange(len(corners))
    flat = (corners + reach) @ strides
    for offset, length in zip(offsets @ strides, lengths):
        hit = padded[flat[pending] + offset]
        distances[pending[hit]] = length
        pending = pending[~hit]
        if not len(pending):
            return distances
    scale = np.asarray(spacing)
    if len(pending) * _TREE_TO_TRANSFORM_COST > target_border.size:
        transform = ndimage.distance_transform_edt(~target_border, sampling=scale)
        distances[pending] = transform[tuple(corners[pending].T)]
    else:
        tree = cKDTree(target_corners * scale, balanced_tree=False, compact_nodes=False)
        distances[pending] = tree.query(corners[pending] * scale, k=1)[0]
    return distances


def surface_distances(reference: np.ndarray, prediction: np.ndarray, spacing) -> SurfaceDistances:
    """Surface distances between two boolean masks on the same grid (crop them to their union first)."""
    if reference.shape != prediction.shape or reference.ndim != 3:
        raise ValueError(f"masks must be 3D and of one shape, got {reference.shape} and {prediction.shape}")
    reference_border, reference_corners, reference_areas = _surfels(reference, spacing)
    prediction_border, prediction_corners, prediction_areas = _surfels(prediction, spacing)
    return SurfaceDistances(
        _distances(reference_corners, prediction_border, prediction_corners, spacing), reference_areas,
        _distances(prediction_corners, reference_border, reference_corners, spacing), prediction_areas,
    )


def _percentile(distances: np.ndarray, areas: np.ndarray, percent: float) -> float:
    """Area-weighted percentile: the smallest distance whose cumulative area reaches ``percent``."""
    if not len(distances):
        return np.inf
    order = np.lexsort((areas, distances))
    cumulative = np.cumsum(areas[order]) / np.sum(areas[order])
    index = min(int(np.searchsorted(cumulative, percent / 100.0)), len(distances) - 1)
    return float(distances[order][index])


def hausdorff(distances: SurfaceDistances, percent: float = 100.0) -> float:
    """Symmetric Hausdorff distance (mm); below 100 %, the area-weighted ``percent`` percentile (HD95)."""
    if percent >= 100.0:
        directed = [d.max() if len(d) else np.inf
                    for d in (distances.reference_to_prediction, distances.prediction_to_reference)]
        return float(max(directed))
    return max(
        _percentile(distances.reference_to_prediction, distances.reference_areas, percent),
        _percentile(distances.prediction_to_reference, distances.prediction_areas, percent),
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
