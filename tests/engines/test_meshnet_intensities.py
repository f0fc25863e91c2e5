"""MeshNet's input intensities come from robust percentiles: outliers, offsets and scale factors change nothing."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import MeshNetEngine
from bids_app.engines.meshnet.preprocess import uint8_intensities
from bids_app.labels import SUBCORTICAL


@pytest.fixture(scope="module")
def norm(shared_data) -> nb.Nifti1Image:
    """The niivue subject's real T1w (uint8, 256^3, 1 mm)."""
    return nb.load(shared_data / "niivue" / "norm.mgz")


def _outliers(shape, count=60, seed=0):
    """Flat indices of a few voxels: spikes at the int16 extremes and a few negative voxels."""
    return np.random.default_rng(seed).choice(int(np.prod(shape)), count, replace=False)


def _as_scanner_stores_it(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int16, scaled by 23.7, a background offset of 100, spikes at -32768/32767 and a few voxels at -1000."""
    stored = np.round(data.astype(np.float64) * 23.7 + 100).astype(np.int16).reshape(-1)
    spots = _outliers(data.shape)
    stored[spots[:20]], stored[spots[20:40]], stored[spots[40:]] = 32767, -32768, -1000
    return stored.reshape(data.shape), spots


PERTURBATIONS = {
    "offset": lambda data: (data.astype(np.float32) + 250.0, np.array([], int)),
    "scale": lambda data: (data.astype(np.float32) * 0.013, np.array([], int)),
    "one-negative-voxel": lambda data: (_set(data, [0], -1000.0), np.array([0])),
    "int16-offset-spikes": _as_scanner_stores_it,
}


def _set(data, indices, value):
    out = data.astype(np.float32).reshape(-1).copy()
    out[indices] = value
    return out.reshape(data.shape)


@pytest.mark.parametrize("perturbation", PERTURBATIONS)
def test_network_input_ignores_outliers_offset_and_scale(norm, perturbation):
    data = np.asanyarray(norm.dataobj)
    reference = uint8_intensities(data)
    perturbed, touched = PERTURBATIONS[perturbation](data)
    result = uint8_intensities(perturbed)
    untouched = np.ones(data.size, bool)
    untouched[touched] = False
    untouched = untouched.reshape(data.shape)
    differ = result[untouched] != reference[untouched]
    assert np.count_nonzero(differ) <= 1e-4 * data.size  # float rounding at an integer boundary
    assert np.abs(result[untouched] - reference[untouched]).max() <= 1
    assert reference.min() == 0 and reference.max() == 255


def test_constant_image_is_refused_naming_the_file():
    with pytest.raises(ValueError, match="sub-01_T1w.nii.gz: the image is constant"):
        uint8_intensities(np.full((8, 8, 8), 7.0), "sub-01_T1w.nii.gz")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return 2.0 * np.count_nonzero(a & b) / total if total else 1.0


@pytest.mark.slow
def test_segmentation_unchanged_by_int16_storage_offset_and_spikes(niivue_meshnet):
    norm, segmentation = niivue_meshnet
    plain = np.asanyarray(segmentation.labels.dataobj)
    stored, _ = _as_scanner_stores_it(np.asanyarray(norm.dataobj))
    perturbed = np.asanyarray(MeshNetEngine().predict(nb.Nifti1Image(stored, norm.affine)).labels.dataobj)
    assert np.mean(plain == perturbed) > 0.999
    for label in SUBCORTICAL:
        assert _dice(plain == label, perturbed == label) > 0.97, label
