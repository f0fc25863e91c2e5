"""Figures of the group report, each returned as a base64 PNG to embed in the HTML (matplotlib, Agg)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bids_app.metrics.structures import OK  # noqa: E402


def _png(figure) -> str:
    """Base64 PNG of ``figure`` (closed afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def box_plots(metrics: pd.DataFrame, metric: str, title: str) -> str:
    """Box plot per structure, one box per desc, of one metric over subjects (finite, two-sided values)."""
    values = metrics[(metrics["metric"] == metric) & (metrics["status"] == OK)].copy()
    values["value"] = values["value"].astype(float)
    values = values[np.isfinite(values["value"])]
    structures = sorted(values["structure"].unique())
    descs = sorted(values["desc"].unique())
    figure, axes = plt.subplots(figsize=(max(6.0, 0.45 * len(structures) * max(1, len(descs))), 3.5))
    width = 0.8 / max(1, len(descs))
    for number, desc in enumerate(descs):
        data = [values.loc[(values["desc"] == desc) & (values["structure"] == s), "value"].to_numpy()
                for s in structures]
        positions = np.arange(len(structures)) + (number - (len(descs) - 1) / 2) * width
        boxes = axes.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True,
                             showfliers=True, manage_ticks=False)
        colour = plt.cm.tab10(number % 10)
        for patch in boxes["boxes"]:
            patch.set_facecolor(colour)
        axes.plot([], [], color=colour, linewidth=6, label=desc)
    axes.set_xticks(np.arange(len(structures)), structures, rotation=60, ha="right", fontsize=7)
    axes.set_ylabel(title)
    if descs:
        axes.legend(fontsize=7, loc="best")
    return _png(figure)


def confusion_heat_map(pairs: pd.DataFrame) -> str:
    """Mean fraction of reference-left voxels labelled right (and vice versa), per pair and desc."""
    columns, data = [], []
    for desc, group in pairs.groupby("desc", sort=True):
        means = group.groupby("structure")[["left_as_right", "right_as_left"]].mean()
        data.append(means)
        columns += [f"{desc}\nL→R", f"{desc}\nR→L"]
    table = pd.concat(data, axis=1) if data else pd.DataFrame()
    figure, axes = plt.subplots(figsize=(1.2 + 0.9 * max(1, len(columns)), 0.9 + 0.3 * max(1, len(table))))
    image = axes.imshow(table.to_numpy(dtype=float) if len(table) else np.zeros((1, 1)),
                        vmin=0, vmax=1, cmap="magma_r", aspect="auto")
    axes.set_xticks(np.arange(len(columns)), columns, fontsize=7)
    axes.set_yticks(np.arange(len(table)), list(table.index), fontsize=7)
    figure.colorbar(image, ax=axes, label="fraction of reference voxels")
    return _png(figure)


def worst_slice(reference: np.ndarray, prediction: np.ndarray, label: int, title: str) -> str:
    """The slice through the centre of one structure: reference filled, prediction outlined."""
    truth, guess = reference == label, prediction == label
    where = np.argwhere(truth | guess)
    axis = int(np.argmin(reference.shape))
    centre = int(np.round(where[:, axis].mean())) if len(where) else reference.shape[axis] // 2
    picture = [np.take(mask, centre, axis=axis) for mask in (truth, guess, reference > 0)]
    figure, axes = plt.subplots(figsize=(3.5, 3.5))
    axes.imshow(picture[2].T, cmap="gray", alpha=0.35, origin="lower")
    axes.imshow(np.ma.masked_where(~picture[0].T, picture[0].T), cmap="winter", alpha=0.6, origin="lower")
    if picture[1].any():
        axes.contour(picture[1].T.astype(float), levels=[0.5], colors="red", linewidths=1.0, origin="lower")
    axes.set_title(title, fontsize=8)
    axes.set_axis_off()
    return _png(figure)
