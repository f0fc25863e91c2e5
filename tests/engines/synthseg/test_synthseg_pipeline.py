"""SynthSeg's pre- and post-processing steps."""

from __future__ import annotations

import nibabel as nb
import numpy as np

from bids_app.engines.synthseg import pipeline


def test_fit_shape_pads_to_multiple_of_32_at_least_128():
    data = np.ones((130, 100, 40), dtype=np.float32)
    padded, inside, source = pipeline.fit_shape(data)
    assert padded.shape == (160, 128, 128)
    assert np.array_equal(padded[inside], data) and padded.sum() == data.sum()
    assert source == (slice(0, 130), slice(0, 100), slice(0, 40))


def test_fit_shape_crops_centre():
    data = np.arange(100 * 70 * 64, dtype=np.float32).reshape(100, 70, 64)
    padded, inside, source = pipeline.fit_shape(data, crop=64)
    assert padded.shape == (64, 64, 64)
    assert source == (slice(18, 82), slice(3, 67), slice(0, 64))
    assert np.array_equal(padded[inside], data[source])


def test_rescale_uses_robust_percentiles(shared_data):
    data = np.asarray(nb.load(shared_data / "niivue" / "norm.mgz").dataobj, dtype=np.float32)
    scaled = pipeline.rescale(data)
    low, high = np.percentile(data, [0.5, 99.5])
    assert scaled.min() == 0 and scaled.max() == 1
    assert np.allclose(scaled[data == high], 1) and np.allclose(scaled[data <= low], 0)


def test_resampling_to_1mm_keeps_world_positions():
    data = np.zeros((20, 30, 10), dtype=np.float32)
    data[10, 15, 5] = 1
    affine = np.diag([2.0, 0.5, 3.0, 1.0])
    resampled, new_affine = pipeline.resample_to_1mm(data, affine)
    assert resampled.shape == (40, 15, 30)
    assert np.allclose(np.sqrt((new_affine[:3, :3] ** 2).sum(0)), 1)
    peak = np.unravel_index(resampled.argmax(), resampled.shape)
    world_peak, world_point = new_affine @ np.r_[peak, 1], affine @ np.r_[10, 15, 5, 1]
    assert np.all(np.abs(world_peak - world_point)[:3] <= 1.0)


def test_clean_posteriors_keeps_largest_component_per_structure():
    posteriors = np.zeros((3, 20, 20, 20), dtype=np.float32)
    posteriors[0] = 1
    posteriors[:, 2:8, 2:8, 2:8] = [[[[0]]], [[[1]]], [[[0]]]]  # big blob of channel 1
    posteriors[:, 12:14, 12:14, 12:14] = [[[[0]]], [[[1]]], [[[0]]]]  # small stray blob of channel 1
    posteriors[:, 2:8, 8:12, 2:8] = [[[[0]]], [[[0]]], [[[1]]]]  # channel 2 touching the big blob
    cleaned = pipeline.clean_posteriors(posteriors.copy(), [(1,), (2,)])
    labels = cleaned.argmax(0)
    assert (labels == 1).sum() == 6 * 6 * 6 and (labels == 2).sum() == 6 * 4 * 6
    assert labels[13, 13, 13] == 0
