"""Does an image suit a model that normalises intensities inside the image's non-zero region?

nnU-Net plans z-score normalisation inside the non-zero region (``use_mask_for_norm``) when its training images
have a large exact-zero background (skull-stripped or cropped heads): at inference, each image is scaled by the
mean and standard deviation of its non-zero voxels. An image whose background is not exactly zero (a storage
offset, noise in the air, or the faint ringing that resampling leaves around a head) is then scaled over
background too, unlike any training image, and its labels may be wrong with no other sign (Dice 0.18-0.51
instead of 0.78-0.84 on resampled and offset copies of the sample heads). Such an image is flagged
(``ZeroBackground`` in the provenance, a ``QualityFlags`` sentence from :func:`zero_background_flags`).
"""

from __future__ import annotations

import numpy as np

#: Least fraction of exactly-zero voxels: nnU-Net turns mask normalisation on when cropping the zero margin
#: removes a quarter of its training images; an image with under 5% zeros has next to no such margin.
MIN_ZERO_FRACTION = 0.05
#: Most non-zero voxels within :data:`NEAR_ZERO` of zero: 1-2% on the sample heads as stored, 43-72% on
#: their cubic-resampled copies, whose background keeps tiny non-zero values.
MAX_NEAR_ZERO_FRACTION = 0.1
#: "Near zero": below this fraction of the 99th percentile of the non-zero voxels' magnitudes.
NEAR_ZERO = 0.01


def zero_background(data: np.ndarray) -> dict:
    """Sidecar field ``ZeroBackground`` for ``data``, an image a mask-normalising model is about to segment."""
    nonzero = np.abs(data[data != 0])
    zero_fraction = 1.0 - nonzero.size / data.size
    near_zero = 0.0
    if nonzero.size:
        near_zero = float(np.count_nonzero(nonzero < NEAR_ZERO * np.percentile(nonzero, 99))) / nonzero.size
    return {"ZeroFraction": round(zero_fraction, 4), "MinZeroFraction": MIN_ZERO_FRACTION,
            "NearZeroFraction": round(near_zero, 4), "MaxNearZeroFraction": MAX_NEAR_ZERO_FRACTION,
            "Flagged": zero_fraction < MIN_ZERO_FRACTION or near_zero > MAX_NEAR_ZERO_FRACTION}


def zero_background_flags(field: dict | None) -> list[str]:
    """The QualityFlags sentence of a flagged ``ZeroBackground`` field (none without the field or the flag)."""
    if not field or not field.get("Flagged"):
        return []
    if field["ZeroFraction"] < field["MinZeroFraction"]:
        found = (f"only {100 * field['ZeroFraction']:.1f}% of this image is exactly zero (at least "
                 f"{100 * field['MinZeroFraction']:.0f}% expected)")
    else:
        found = (f"{100 * field['NearZeroFraction']:.0f}% of this image's non-zero voxels are faint background "
                 f"(at most {100 * field['MaxNearZeroFraction']:.0f}% expected; a resampled image?)")
    return [f"the model normalises intensities inside the non-zero region (it learned from heads with an "
            f"exact-zero background, such as skull-stripped ones), but {found}: it was normalised over "
            f"background too and its labels may be wrong"]
