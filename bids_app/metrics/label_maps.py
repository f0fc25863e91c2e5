"""Load label maps and put a prediction on its reference's grid."""

from __future__ import annotations

import itertools
import logging
import zlib
from pathlib import Path

import nibabel as nb
import numpy as np

from bids_app.labels import LABELS
from bids_app.utils.conform import resample_like

logger = logging.getLogger("subseg")

#: Largest label a map may hold: labels are scored as 32-bit integers.
LARGEST_LABEL = np.iinfo(np.int32).max


class LabelMapError(ValueError):
    """A label map that cannot be scored (one line, naming the file)."""


def load_label_map(path: Path) -> tuple[nb.Nifti1Image, np.ndarray]:
    """The image and its integer label array (int32); refuses unreadable, non-3D, NaN, non-integer, negative
    maps and labels too large for 32 bits."""
    try:
        image = nb.load(str(path))
        data = np.asanyarray(image.dataobj)
    except (OSError, EOFError, zlib.error, ValueError, nb.filebasedimages.ImageFileError) as error:
        reason = str(error).strip().splitlines()
        raise LabelMapError(f"{path}: unreadable label map ({reason[-1] if reason else type(error).__name__})"
                            ) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise LabelMapError(f"{path}: label map must be 3D, found shape {data.shape}")
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)):
            raise LabelMapError(f"{path}: label map holds NaN or infinite values")
        if not np.array_equal(data, np.round(data)):
            raise LabelMapError(f"{path}: label map holds non-integer values")
    if data.min() < 0:
        raise LabelMapError(f"{path}: label map holds negative labels")
    if data.max() > LARGEST_LABEL:  # would wrap around in 32 bits, onto another label
        raise LabelMapError(f"{path}: label map holds label {int(data.max())}, above {LARGEST_LABEL}")
    return image, data.astype(np.int32)


def file_stamp(*paths: Path | None) -> tuple:
    """Inode, size and modification time (ns) of each file (None for None): unchanged while a file is not
    rewritten or replaced."""
    stamps = []
    for path in paths:
        status = None if path is None else Path(path).stat()
        stamps.append(None if status is None else (status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(stamps)


def spacing(image: nb.Nifti1Image) -> tuple[float, float, float]:
    """Voxel size (mm) along the three array axes."""
    return tuple(float(z) for z in image.header.get_zooms()[:3])


def same_grid(first: nb.Nifti1Image, second: nb.Nifti1Image) -> bool:
    """Whether two images share shape and affine (to 1e-3 mm)."""
    return first.shape[:3] == second.shape[:3] and np.allclose(first.affine, second.affine, atol=1e-3)


def _world_box(image: nb.Nifti1Image) -> tuple[np.ndarray, np.ndarray]:
    """World-space (mm) bounding box of the image's field of view."""
    corners = np.array(list(itertools.product(*[(-0.5, n - 0.5) for n in image.shape[:3]])))
    world = nb.affines.apply_affine(image.affine, corners)
    return world.min(axis=0), world.max(axis=0)


def align_prediction(prediction: nb.Nifti1Image, reference: nb.Nifti1Image, path: Path,
                     data: np.ndarray | None = None) -> np.ndarray:
    """The prediction's labels on the reference grid (nearest neighbour, with a warning, when they differ).

    ``data``: the prediction's labels already loaded (as ``load_label_map`` returns them, possibly folded), used
    in place of the file's.
    """
    if data is None:
        data = np.asanyarray(prediction.dataobj).astype(np.int32)
    if same_grid(prediction, reference):
        return data
    low_p, high_p = _world_box(prediction)
    low_r, high_r = _world_box(reference)
    if np.any(np.minimum(high_p, high_r) <= np.maximum(low_p, low_r)):
        raise LabelMapError(f"{path}: field of view does not overlap its reference's; wrong reference?")
    logger.warning("%s: not on its reference's grid (shape %s vs %s); resampled onto the reference grid "
                   "with nearest neighbour", path, prediction.shape[:3], reference.shape[:3])
    image = nb.Nifti1Image(data, prediction.affine)
    return np.asanyarray(resample_like(image, reference, order=0).dataobj).astype(np.int32)


def known_labels(counts: np.ndarray, path: Path) -> list[int]:
    """Non-zero labels present in a map (``counts``: its ``label_counts``) that the label table knows; warns
    naming the others."""
    present = np.flatnonzero(counts)
    unknown = [int(label) for label in present if label and int(label) not in LABELS]
    if unknown:
        logger.warning("%s: labels unknown to the FreeSurfer table, not scored: %s", path, unknown)
    return [int(label) for label in present if label and int(label) in LABELS]


