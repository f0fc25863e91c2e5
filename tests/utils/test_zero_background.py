"""An image without an exact-zero background is flagged for a model that normalises inside the non-zero region."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bids_app.utils.zero_background import zero_background, zero_background_flags


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
