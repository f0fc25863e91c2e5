"""The QC picture of a segmentation: a whole-head mosaic beside a zoom on the deep grey matter, T1w underneath.

Subcortical structures are filled; every other label (cortex, white matter, ventricles ...) is drawn as an
outline so the anatomy stays visible. Each slice carries its orientation letters (RAS display: the subject's
left on the left of axial and coronal slices).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nb  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..labels import LABELS, SUBCORTICAL  # noqa: E402
from ..utils.conform import conform  # noqa: E402
from .legend import legend_labels  # noqa: E402

#: View name, slicing axis, and the letters at (left, right, bottom, top) of the displayed slice.
_VIEWS = (("sagittal", 0, "PAIS"), ("coronal", 1, "LRIS"), ("axial", 2, "LRPA"))
_FILL_ALPHA = 0.45


def rgba_table(max_label: int) -> np.ndarray:
    """RGBA per label number (unknown labels grey, background transparent)."""
    table = np.zeros((max_label + 1, 4))
    table[1:] = (0.6, 0.6, 0.6, 1.0)
    for index, label in LABELS.items():
        if 0 < index <= max_label:
            table[index, :3] = [int(label.color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return table


def label_edges(labels: np.ndarray) -> np.ndarray:
    """True on labelled pixels that touch a pixel of another label."""
    edge = np.zeros(labels.shape, dtype=bool)
    for axis in (0, 1):
        differs = np.diff(labels, axis=axis) != 0
        edge[tuple(slice(None, -1) if a == axis else slice(None) for a in (0, 1))] |= differs
        edge[tuple(slice(1, None) if a == axis else slice(None) for a in (0, 1))] |= differs
    return edge & (labels > 0)


def _box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """The bounding box of ``mask`` plus ``margin`` voxels (the whole array when the mask is empty)."""
    if not mask.any():
        return tuple(slice(None) for _ in mask.shape)
    where = np.argwhere(mask)
    low, high = where.min(axis=0) - margin, where.max(axis=0) + margin + 1
    return tuple(slice(max(int(a), 0), min(int(b), n)) for a, b, n in zip(low, high, mask.shape))


def _draw(ax, image, labels, index, axis, letters, zooms, window, table, fill_all=False):
    """One slice: T1w in grey, subcortical fills (all labels with ``fill_all``), outlines, orientation letters."""
    section = np.take(image, index, axis=axis).T
    overlay = np.take(labels, index, axis=axis).T
    shown = [a for a in range(3) if a != axis]
    aspect = zooms[shown[1]] / zooms[shown[0]]
    ax.imshow(section, cmap="gray", vmin=window[0], vmax=window[1], origin="lower", interpolation="nearest",
              aspect=aspect)
    colours = table[overlay]
    filled = np.isin(overlay, SUBCORTICAL) if not fill_all else overlay > 0
    fill = colours.copy()
    fill[..., 3] = np.where(filled, _FILL_ALPHA, 0.0)
    outline = colours.copy()
    outline[..., 3] = np.where(label_edges(overlay), 1.0, 0.0)
    for layer in (fill, outline):
        ax.imshow(layer, origin="lower", interpolation="nearest", aspect=aspect)
    ax.set_axis_off()
    style = {"color": "yellow", "fontsize": 8, "fontweight": "bold", "transform": ax.transAxes}
    ax.text(0.02, 0.5, letters[0], ha="left", va="center", **style)
    ax.text(0.98, 0.5, letters[1], ha="right", va="center", **style)
    ax.text(0.5, 0.02, letters[2], ha="center", va="bottom", **style)
    ax.text(0.5, 0.98, letters[3], ha="center", va="top", **style)


def plot_segmentation(t1w: nb.spatialimages.SpatialImage, dseg: nb.spatialimages.SpatialImage, out_file: str,
                      slices_per_view: int = 5) -> str:
    """Save a PNG: a 3 x ``slices_per_view`` mosaic of the head beside coronal and axial zooms and a legend."""
    t1w_ras, dseg_ras = conform(t1w, "RAS"), conform(dseg, "RAS")
    image = np.asanyarray(t1w_ras.dataobj).astype(np.float32)
    labels = np.asanyarray(dseg_ras.dataobj).astype(np.int32)
    zooms = np.asarray(t1w_ras.header.get_zooms()[:3], dtype=float)
    foreground = image[image > 0]
    window = np.percentile(foreground if foreground.size else image, (1, 99.5))
    table = rgba_table(max(int(labels.max()), 1))

    head = _box(image > window[0] + 0.1 * (window[1] - window[0]), margin=4)
    head_image, head_labels = image[head], labels[head]
    brain = _box(head_labels > 0, margin=0)
    deep = np.isin(labels, SUBCORTICAL)
    zoom_box = _box(deep if deep.any() else labels > 0, margin=int(round(12 / zooms.min())))
    centre = np.round(np.argwhere(deep if deep.any() else labels > 0).mean(axis=0)).astype(int) \
        if labels.any() else np.asarray(labels.shape) // 2

    figure = plt.figure(figsize=(2.0 * slices_per_view + 4.2, 6.6), facecolor="black")
    mosaic, side = figure.subfigures(1, 2, width_ratios=[2.0 * slices_per_view, 4.2], facecolor="black")
    axes = mosaic.subplots(len(_VIEWS), slices_per_view)
    for row, (view, axis, letters) in enumerate(_VIEWS):
        first, last = brain[axis].start or 0, brain[axis].stop or head_labels.shape[axis]
        span = last - first
        indices = np.linspace(first + 0.2 * span, last - 0.2 * span, slices_per_view).astype(int)
        for column, index in enumerate(indices):
            _draw(axes[row, column], head_image, head_labels, index, axis, letters, zooms, window, table)
        axes[row, 0].set_title(f"{view}", color="white", fontsize=9, loc="left")
    mosaic.subplots_adjust(0, 0, 1, 0.96, 0.02, 0.1)

    zoom_axes = side.subplots(3, 1, height_ratios=[1, 1, 0.8])
    zoom_image, zoom_labels = image[zoom_box], labels[zoom_box]
    for ax, (view, axis, letters) in zip(zoom_axes, _VIEWS[1:]):
        index = int(np.clip(centre[axis] - (zoom_box[axis].start or 0), 0, zoom_labels.shape[axis] - 1))
        _draw(ax, zoom_image, zoom_labels, index, axis, letters, zooms, window, table)
        ax.set_title(f"{view} zoom, deep grey matter", color="white", fontsize=9, loc="left")
    legend_ax = zoom_axes[2]
    legend_ax.set_axis_off()
    shown = [label for label in legend_labels(np.unique(labels)) if label.index in SUBCORTICAL]
    if shown:
        legend_ax.legend(handles=[Patch(color=label.color, label=label.name) for label in shown], loc="center",
                         ncol=2, fontsize=6.5, frameon=False, labelcolor="white", handlelength=1.2)
    side.subplots_adjust(0.02, 0.0, 0.98, 0.96, 0.0, 0.12)
    figure.savefig(out_file, dpi=90, facecolor="black")
    plt.close(figure)
    return out_file
