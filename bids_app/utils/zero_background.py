"""Make an image suit a model that normalises intensities inside the image's non-zero region, or flag it.

nnU-Net plans z-score normalisation inside the non-zero region (``use_mask_for_norm``) when its training images
have a large exact-zero background (skull-stripped or cropped heads): at inference, each image is scaled by the
mean and standard deviation of its non-zero voxels. An image whose background is not exactly zero (a storage
offset, or the faint ringing that resampling leaves around a head) is then scaled over background too, unlike
any training image, and its labels may be wrong with no other sign (Dice 0.18-0.51 instead of 0.78-0.84 on
resampled and offset copies of the sample heads); spikes at the int16 extremes shift the mean and standard
deviation as well.

:func:`for_mask_normalisation` replaces spikes (always). An image without an exact-zero background then gets
its background level subtracted and what lies below it set to zero (an offset copy is the original again) and,
if that is not enough, its faint voxels set to zero too (a resampled copy); an image still unlike the training
images after that (noise all over its border) is flagged. An image that already has a zero background and no
spike is left exactly as it is, so it is segmented as nnU-Net's own predictor segments it.
"""

from __future__ import annotations

import numpy as np

from .spikes import spike_mask

#: Least fraction of exactly-zero voxels: nnU-Net turns mask normalisation on when cropping the zero margin
#: removes a quarter of its training images; an image with under 5% zeros has next to no such margin.
MIN_ZERO_FRACTION = 0.05
#: Most non-zero voxels within :data:`NEAR_ZERO` of zero: 1-2% on the sample heads as stored, 43-72% on
#: their cubic-resampled copies, whose background keeps tiny non-zero values.
MAX_NEAR_ZERO_FRACTION = 0.1
#: "Near zero": below this fraction of the 99th percentile of the non-zero voxels' magnitudes.
NEAR_ZERO = 0.01
#: Most voxels of the image's outer faces left non-zero once the background is cleaned (noise in the air).
MAX_BORDER_NONZERO_FRACTION = 0.1


def zero_background(data: np.ndarray) -> dict:
    """How much of ``data`` is exactly zero and how much of the rest is faint, against the limits."""
    nonzero = np.abs(data[data != 0])
    zero_fraction = 1.0 - nonzero.size / data.size
    near_zero = 0.0
    if nonzero.size:
        near_zero = float(np.count_nonzero(nonzero < NEAR_ZERO * np.percentile(nonzero, 99))) / nonzero.size
    return {"ZeroFraction": round(zero_fraction, 4), "MinZeroFraction": MIN_ZERO_FRACTION,
            "NearZeroFraction": round(near_zero, 4), "MaxNearZeroFraction": MAX_NEAR_ZERO_FRACTION,
            "Flagged": zero_fraction < MIN_ZERO_FRACTION or near_zero > MAX_NEAR_ZERO_FRACTION}


def for_mask_normalisation(data: np.ndarray) -> tuple[np.ndarray, dict]:
    """``data`` as a mask-normalising model needs it, and the sidecar field ``ZeroBackground``: what was found
    (once spikes are replaced), what was done and whether the image is still flagged."""
    data, spikes = replace_spikes(data)
    field = zero_background(data) | {"SpikesReplaced": spikes}
    if not field["Flagged"]:
        return data, field
    data, level, zeroed = clean_background(data)
    cleaned = zero_background(data)
    border = _border_nonzero_fraction(data)
    field["BackgroundCleaned"] = {
        "Level": round(level, 4), "VoxelsZeroed": zeroed, "ZeroFraction": cleaned["ZeroFraction"],
        "BorderNonZeroFraction": round(border, 4), "MaxBorderNonZeroFraction": MAX_BORDER_NONZERO_FRACTION,
    }
    field["Flagged"] = cleaned["Flagged"] or border > MAX_BORDER_NONZERO_FRACTION
    return data, field


def replace_spikes(data: np.ndarray) -> tuple[np.ndarray, int]:
    """``data`` with each spike (:func:`~bids_app.utils.spikes.spike_mask`) replaced by the median of the other
    voxels of its 3x3x3 neighbourhood, and how many there were; ``data`` itself when there is none."""
    is_spike = spike_mask(data)
    spikes = np.argwhere(is_spike)
    if not len(spikes):
        return data, 0
    repaired = data.copy()
    for voxel in spikes:
        block = tuple(slice(max(i - 1, 0), i + 2) for i in voxel)
        others = data[block][~is_spike[block]]
        repaired[tuple(voxel)] = np.median(others) if others.size else 0
    return repaired, len(spikes)


def clean_background(data: np.ndarray) -> tuple[np.ndarray, float, int]:
    """``data`` minus its background level (the median of its outer faces), nothing below zero; if that is not
    enough, also every voxel below :data:`NEAR_ZERO` of the 99th percentile of the remaining magnitudes set to
    zero. Returns the image, the level and how many voxels, neither zero nor at the level, were set to zero."""
    level = float(np.median(_faces(data)))
    cleaned = (data - level).astype(np.float32)
    zeroed = cleaned < 0
    cleaned[zeroed] = 0
    if zero_background(cleaned)["Flagged"]:
        faint = cleaned < NEAR_ZERO * np.percentile(cleaned[cleaned > 0], 99)
        cleaned[faint] = 0
        zeroed |= faint
    return cleaned, level, int(np.count_nonzero(zeroed & (data != 0) & (data != level)))


def _faces(data: np.ndarray) -> np.ndarray:
    """The voxels of the six outer faces of ``data`` (edges counted more than once)."""
    return np.concatenate([np.moveaxis(data, axis, 0)[index].ravel() for axis in range(data.ndim) for index in (0, -1)])


def _border_nonzero_fraction(data: np.ndarray) -> float:
    faces = _faces(data)
    return float(np.count_nonzero(faces)) / faces.size


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
    cleaned = field.get("BackgroundCleaned")
    if cleaned:
        found += (f"; with its background cleaned (level subtracted, {cleaned['VoxelsZeroed']} voxels set to "
                  f"zero), {100 * cleaned['ZeroFraction']:.1f}% of it is exactly zero and "
                  f"{100 * cleaned['BorderNonZeroFraction']:.0f}% of its border is still non-zero (at least "
                  f"{100 * field['MinZeroFraction']:.0f}% and at most {100 * cleaned['MaxBorderNonZeroFraction']:.0f}% "
                  f"expected: noise in the air?)")
    return [f"the model normalises intensities inside the non-zero region (it learned from heads with an "
            f"exact-zero background, such as skull-stripped ones), but {found}: it was normalised over "
            f"background too and its labels may be wrong"]
