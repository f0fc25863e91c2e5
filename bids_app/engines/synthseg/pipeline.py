"""SynthSeg's pre- and post-processing (``predict_synthseg.py``: ``preprocess`` and ``postprocess``).

Before the network: the image is reoriented to RAS (as SynthSeg aligns it to an identity affine), resampled to
1 mm when a voxel size differs from 1 mm by more than 0.05 (Gaussian pre-blur when downsampling, trilinear),
rescaled to [0, 1] between its 0.5th and 99.5th percentiles, and zero-padded (centred) to a multiple of 32
voxels, at least 128, or centre-cropped to ``crop``. After it: posteriors outside the largest connected
brain component are zeroed, each topological class keeps its largest component, small posteriors are
dropped, and the argmax gives FreeSurfer labels.
"""

from __future__ import annotations

import math

import nibabel as nb
import numpy as np
from scipy import ndimage

from bids_app.utils.conform import conform

#: SynthSeg's network downsamples 4 times but pads to 2**5 (its ``n_levels``).
MULTIPLE = 32
#: Minimum padded size (SynthSeg's ``min_pad`` when no cropping is asked for).
MIN_SHAPE = 128
#: Voxel sizes within this of 1 mm are used as they are (no resampling), as in SynthSeg.
RESOLUTION_TOLERANCE = 0.05


def resample_to_1mm(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SynthSeg's ``resample_volume`` to 1 mm: blur with sigma 0.25/factor when downsampling, then trilinear
    interpolation on a grid whose first voxel centre keeps the original field of view."""
    zooms = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    factor = zooms / 1.0
    sigmas = np.where(factor > 1, 0.0, 0.25 / factor)
    blurred = ndimage.gaussian_filter(data, sigmas, mode="nearest") if np.any(sigmas) else data
    start = -(factor - 1) / (2 * factor)
    step = 1.0 / factor
    axes = []
    for axis in range(3):
        coordinates = start[axis] + step[axis] * np.arange(math.ceil(data.shape[axis] * factor[axis]))
        axes.append(np.clip(coordinates, 0, data.shape[axis] - 1))
    grid = np.meshgrid(*axes, indexing="ij")
    resampled = ndimage.map_coordinates(blurred, grid, order=1, mode="nearest").astype(np.float32)
    new_affine = affine.copy()
    new_affine[:3, :3] = affine[:3, :3] / factor
    new_affine[:3, 3] = affine[:3, 3] - new_affine[:3, :3] @ (0.5 * (factor - 1))
    return resampled, new_affine


def network_grid(image: nb.Nifti1Image) -> nb.Nifti1Image:
    """``image`` in RAS, at 1 mm unless its voxels are already within 0.05 mm of it (float32)."""
    image = conform(image, "RAS")
    data = np.asarray(image.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"SynthSeg needs a 3D image, got shape {data.shape}")
    affine = image.affine
    zooms = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    if np.any(np.abs(zooms - 1.0) > RESOLUTION_TOLERANCE):
        data, affine = resample_to_1mm(data, affine)
    return nb.Nifti1Image(data, affine)


def rescale(data: np.ndarray) -> np.ndarray:
    """Clip to the 0.5th-99.5th percentiles and map them to [0, 1] (all zeros for a constant image)."""
    low, high = np.percentile(data, [0.5, 99.5])
    if low == high:
        return np.zeros_like(data, dtype=np.float32)
    return ((np.clip(data, low, high) - low) / (high - low)).astype(np.float32)


def _round_up(size: int) -> int:
    return int(math.ceil(size / MULTIPLE) * MULTIPLE)


def fit_shape(data: np.ndarray, crop=None) -> tuple[np.ndarray, tuple[slice, ...], tuple[slice, ...]]:
    """Centre-crop to ``crop`` (rounded up to a multiple of 32) if given, then zero-pad (centred) to a multiple
    of 32, at least ``crop`` or 128. Returns the network input, where it sits in it, and where in ``data``."""
    shape = np.array(data.shape)
    if crop is not None:
        target = np.array([_round_up(c) for c in np.broadcast_to(crop, 3)])
        start = np.maximum((shape - target) // 2, 0)
        stop = np.minimum(start + target, shape)
        minimum = target
    else:
        start, stop = np.zeros(3, int), shape
        minimum = np.full(3, _round_up(MIN_SHAPE))
    source = tuple(slice(int(a), int(b)) for a, b in zip(start, stop))
    cropped = data[source]
    padded_shape = np.maximum([_round_up(s) for s in cropped.shape], minimum)
    before = (padded_shape - np.array(cropped.shape)) // 2
    inside = tuple(slice(int(b), int(b) + s) for b, s in zip(before, cropped.shape))
    padded = np.zeros(tuple(int(s) for s in padded_shape), dtype=np.float32)
    padded[inside] = cropped
    return padded, inside, source


def _largest_component(mask: np.ndarray) -> np.ndarray:
    components, count = ndimage.label(mask)
    if count == 0:
        return mask
    return components == np.argmax(np.bincount(components.ravel())[1:]) + 1


def clean_posteriors(posteriors: np.ndarray, topology: list[tuple[int, ...]] | None) -> np.ndarray:
    """SynthSeg's ``postprocess`` on (C, D, H, W) posteriors, in place: keep the largest connected component of
    the brain (posterior sum > 0.25), then of each topological class (>0.25), or with ``topology=None``
    ("fast") drop posteriors <= 0.2; renormalise."""
    brain = _largest_component(posteriors[1:].sum(0) > 0.25)
    posteriors[1:] *= brain
    if topology is not None:
        above = posteriors > 0.25
        for channels in topology:
            keep = _largest_component(np.any(above[list(channels)], axis=0))
            posteriors[list(channels)] *= keep
    else:
        posteriors[1:] *= posteriors[1:] > 0.2
    total = posteriors.sum(0)
    posteriors /= np.where(total > 0, total, 1)
    return posteriors


def parcellate(labels: np.ndarray, parcellation: np.ndarray, parcellation_labels, cortex) -> np.ndarray:
    """Replace cortex voxels of ``labels`` with the best parcellation label (SynthSeg's ``--parc``)."""
    mask = np.isin(labels, cortex)
    parcellation[0] = ~mask
    parcellation /= parcellation.sum(0)
    parcel = np.asarray(parcellation_labels)[parcellation.argmax(0)]
    return np.where(mask, parcel, labels)
