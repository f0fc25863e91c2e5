"""The QC picture of a segmentation: T1w slices through the subcortical structures with the labels drawn on."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nb  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from ..labels import LABELS  # noqa: E402
from ..utils.conform import conform  # noqa: E402

_VIEWS = (("sagittal", 0), ("coronal", 1), ("axial", 2))


def _label_colormap(max_label: int) -> ListedColormap:
    colors = np.zeros((max_label + 1, 4))
    for index in range(1, max_label + 1):
        if index in LABELS:
            hex_color = LABELS[index].color.lstrip("#")
            colors[index, :3] = [int(hex_color[i:i + 2], 16) / 255 for i in (0, 2, 4)]
            colors[index, 3] = 1.0
    return ListedColormap(colors)


def _crop_to_labels(image: np.ndarray, labels: np.ndarray, margin: int = 8):
    """Both arrays cut to the labelled box plus ``margin`` voxels (whole arrays when nothing is labelled)."""
    if not np.any(labels):
        return image, labels
    box = tuple(
        slice(max(int(idx.min()) - margin, 0), int(idx.max()) + margin + 1)
        for idx in (np.flatnonzero(np.any(labels, axis=tuple(a for a in range(3) if a != axis))) for axis in range(3))
    )
    return image[box], labels[box]


def plot_segmentation(t1w: nb.spatialimages.SpatialImage, dseg: nb.spatialimages.SpatialImage, out_file: str,
                      slices_per_view: int = 5) -> str:
    """Save a PNG with sagittal, coronal and axial slices through the labelled region (RAS display)."""
    image = np.asanyarray(conform(t1w, "RAS").dataobj).astype(np.float32)
    labels = np.asanyarray(conform(dseg, "RAS").dataobj).astype(np.int32)
    image, labels = _crop_to_labels(image, labels)
    foreground = image[image > 0]
    low, high = np.percentile(foreground if foreground.size else image, (1, 99.5))
    first, last = (np.asarray(labels.shape) * np.array([[0.25], [0.75]])).astype(int)
    cmap = _label_colormap(max(int(labels.max()), 1))
    fig, axes = plt.subplots(len(_VIEWS), slices_per_view, figsize=(2.2 * slices_per_view, 2.2 * len(_VIEWS)),
                             facecolor="black")
    for row, (view, axis) in enumerate(_VIEWS):
        for column, index in enumerate(np.linspace(first[axis], last[axis], slices_per_view).astype(int)):
            ax = axes[row, column]
            section = np.take(image, index, axis=axis).T
            overlay = np.take(labels, index, axis=axis).T
            ax.imshow(section, cmap="gray", vmin=low, vmax=high, origin="lower", interpolation="nearest")
            ax.imshow(np.ma.masked_equal(overlay, 0), cmap=cmap, vmin=0, vmax=cmap.N - 1, alpha=0.45,
                      origin="lower", interpolation="nearest")
            ax.set_axis_off()
            if column == 0:
                ax.set_title(view, color="white", fontsize=9, loc="left")
    fig.subplots_adjust(0, 0, 1, 0.97, 0.02, 0.08)
    fig.savefig(out_file, dpi=80, facecolor="black")
    plt.close(fig)
    return out_file
