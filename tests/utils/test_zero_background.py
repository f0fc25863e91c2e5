"""A model that normalises inside the non-zero region gets images with an exact-zero background and no spike:
cleaned when they can be, flagged when they cannot, untouched when they already are."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bids_app.utils.zero_background import for_mask_normalisation, zero_background, zero_background_flags


def _head() -> np.ndarray:
    """A block of tissue-like intensities in exact-zero air."""
    head = np.zeros((40, 40, 40), np.float32)
    head[10:30, 10:30, 10:30] = np.random.default_rng(0).uniform(20, 100, (20, 20, 20))
    return head


def test_a_head_in_zero_air_passes():
    field = zero_background(_head())
    assert field["ZeroFraction"] == 0.875 and field["NearZeroFraction"] == 0.0 and not field["Flagged"]
    assert zero_background_flags(field) == []


def test_an_offset_copy_is_flagged():
    field = zero_background(_head() + 7)
    assert field["ZeroFraction"] == 0.0 and field["Flagged"]
    [sentence] = zero_background_flags(field)
    assert "only 0.0% of this image is exactly zero (at least 5% expected)" in sentence


def test_a_cubic_resampled_copy_is_flagged():
    """Resampling with a prefiltered cubic spline leaves faint non-zero values all around the head."""
    shifted = np.clip(ndimage.shift(_head(), (0.3, 0.4, 0.2), order=3, mode="grid-constant"), 0, None)
    field = zero_background(shifted)
    assert field["ZeroFraction"] > 0.05 and field["NearZeroFraction"] > 0.1 and field["Flagged"]
    [sentence] = zero_background_flags(field)
    assert "faint background" in sentence and "a resampled image?" in sentence


def test_no_field_no_flag():
    assert zero_background_flags(None) == [] and zero_background_flags({}) == []


def _cubic_copy(head: np.ndarray) -> np.ndarray:
    return np.clip(ndimage.shift(head, (0.3, 0.4, 0.2), order=3, mode="grid-constant"), 0, None).astype(np.float32)


def test_a_head_in_zero_air_is_left_as_it_is():
    head = _head()
    data, field = for_mask_normalisation(head)
    assert data is head and field["SpikesReplaced"] == 0 and not field["Flagged"]
    assert "BackgroundCleaned" not in field


def test_an_offset_copy_gets_its_zero_background_back():
    head = _head()
    data, field = for_mask_normalisation(head + 7)
    assert field["ZeroFraction"] == 0.0 and not field["Flagged"]
    assert field["BackgroundCleaned"]["Level"] == 7.0 and field["BackgroundCleaned"]["VoxelsZeroed"] == 0
    assert np.array_equal(data == 0, head == 0) and np.allclose(data, head, atol=1e-5)
    assert zero_background_flags(field) == []


def test_a_cubic_resampled_copy_loses_its_faint_background():
    shifted = _cubic_copy(_head())
    data, field = for_mask_normalisation(shifted)
    assert field["NearZeroFraction"] > 0.1 and not field["Flagged"]
    assert field["BackgroundCleaned"] == {"Level": 0.0, "VoxelsZeroed": int(np.count_nonzero(shifted)
                                                                                 - np.count_nonzero(data)),
                                          "ZeroFraction": zero_background(data)["ZeroFraction"],
                                          "BorderNonZeroFraction": 0.0, "MaxBorderNonZeroFraction": 0.1}
    assert zero_background(data)["NearZeroFraction"] < 0.05 and zero_background(data)["ZeroFraction"] > 0.8
    inside = np.abs(shifted) >= 0.01 * np.percentile(np.abs(shifted[shifted != 0]), 99)
    assert np.array_equal(data[inside], shifted[inside])  # tissue keeps its values


def test_spikes_take_the_median_of_their_neighbourhood():
    head = _head()
    spiked = head.copy()
    spiked[20, 20, 20], spiked[2, 3, 4], spiked[25, 11, 12], spiked[5, 5, 5] = 32767, -32768, -32768, -50
    data, field = for_mask_normalisation(spiked)
    assert field["SpikesReplaced"] == 4 and not field["Flagged"] and "BackgroundCleaned" not in field
    assert data[2, 3, 4] == data[5, 5, 5] == 0
    assert data[20, 20, 20] == np.median(np.delete(head[19:22, 19:22, 19:22].ravel(), 13))
    untouched = np.ones(head.shape, bool)
    untouched[20, 20, 20] = untouched[2, 3, 4] = untouched[25, 11, 12] = untouched[5, 5, 5] = False
    assert np.array_equal(data[untouched], head[untouched])


def test_noise_in_the_air_stays_flagged():
    """A head in noisy air (a raw scan, not skull-stripped): cleaning cannot give it a zero background."""
    noisy = _head() + np.abs(np.random.default_rng(1).normal(0, 5, (40, 40, 40))).astype(np.float32)
    _, field = for_mask_normalisation(noisy)
    assert field["Flagged"] and field["BackgroundCleaned"]["BorderNonZeroFraction"] > 0.1
    [sentence] = zero_background_flags(field)
    assert "of its border is still non-zero" in sentence
