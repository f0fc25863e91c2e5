"""Figures of the group report, each returned as a base64 PNG to embed in the HTML (matplotlib, Agg)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bids_app.labels import LABELS, SUBCORTICAL, structure_name  # noqa: E402
from bids_app.metrics.structures import OK  # noqa: E402


def png_base64(figure) -> str:
    """Base64 PNG of ``figure`` (closed afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


#: Below this many values per box, every value is drawn as a point over its box.
POINTS_UP_TO = 30


def _structure_rows(structures) -> list[str]:
    """Structures ordered so each Left/Right pair sits together, subcortical first (project order)."""
    order = {LABELS[index].name: position for position, index in enumerate(SUBCORTICAL)}
    return sorted(structures, key=lambda name: (order.get(name, len(order)), structure_name(name), name))


def box_plots(metrics: pd.DataFrame, metric: str, title: str) -> str:
    """Horizontal box plots: one row per structure (Left and Right of a pair adjacent), one box per desc,
    every value drawn as a point when there are few, n written beside each box."""
    values = metrics[(metrics["metric"] == metric) & (metrics["status"] == OK)].copy()
    values["value"] = values["value"].astype(float)
    values = values[np.isfinite(values["value"])]
    structures = _structure_rows(values["structure"].unique())
    row_of = {structure: row for row, structure in enumerate(structures)}
    descs = sorted(values["desc"].unique())
    height = 0.8 / max(1, len(descs))
    figure, axes = plt.subplots(figsize=(8.5, 0.9 + 0.32 * len(structures) * max(1, len(descs)) ** 0.5))
    rng = np.random.default_rng(0)
    for number, desc in enumerate(descs):
        colour = plt.cm.tab10(number % 10)
        offset = (number - (len(descs) - 1) / 2) * height
        groups = {structure: group.to_numpy() for structure, group in
                  values.loc[values["desc"] == desc].groupby("structure")["value"]}
        drawn = [structure for structure in structures if structure in groups]
        data = [groups[structure] for structure in drawn]
        positions = [row_of[structure] + offset for structure in drawn]
        boxes = axes.boxplot(data, positions=positions, widths=height * 0.85, orientation="horizontal",
                             patch_artist=True, manage_ticks=False)  # one call per desc: artists cost time
        for box, median, fliers, series in zip(boxes["boxes"], boxes["medians"], boxes["fliers"], data):
            box.set(facecolor=(*colour[:3], 0.35), edgecolor=colour)
            median.set(color="black")
            fliers.set_visible(len(series) > POINTS_UP_TO)
        few = [(series, position) for series, position in zip(data, positions) if len(series) <= POINTS_UP_TO]
        if few:
            axes.scatter(np.concatenate([series for series, _ in few]),
                         np.concatenate([position + rng.uniform(-0.3, 0.3, len(series)) * height
                                         for series, position in few]),
                         s=16, color=colour, edgecolors="black", linewidths=0.3, zorder=3)
        for series, position in zip(data, positions):
            axes.annotate(f"n={len(series)}", (1.0, position), xycoords=("axes fraction", "data"),
                          xytext=(3, 0), textcoords="offset points", va="center", fontsize=7, color=colour)
        axes.plot([], [], color=colour, linewidth=6, label=desc)
    between_pairs = [row - 0.5 for row in range(1, len(structures))
                     if structure_name(structures[row]) != structure_name(structures[row - 1])]
    axes.hlines(between_pairs, 0, 1, transform=axes.get_yaxis_transform(), color="#ccc", linewidth=0.6)
    axes.set_yticks(np.arange(len(structures)), structures, fontsize=9)
    axes.set_ylim(len(structures) - 0.5, -0.5)
    axes.set_xlabel(title, fontsize=10)
    axes.grid(axis="x", color="#eee")
    if descs:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.08, 1.0), frameon=False)
    return png_base64(figure)


def confusion_heat_map(pairs: pd.DataFrame) -> str:
    """Mean fraction of reference-left voxels labelled right (and vice versa), per pair and desc; the colour
    scale runs from 0 to the largest value shown, and every cell carries its value."""
    columns, data = [], []
    for desc, group in pairs.groupby("desc", sort=True):
        means = group.groupby("structure")[["left_as_right", "right_as_left"]].mean()
        data.append(means)
        columns += [f"{desc}\nL→R", f"{desc}\nR→L"]
    table = pd.concat(data, axis=1) if data else pd.DataFrame()
    values = table.to_numpy(dtype=float) if len(table) else np.zeros((1, 1))
    top = float(np.nanmax(values)) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1e-3
    figure, axes = plt.subplots(figsize=(1.6 + 1.0 * max(1, len(columns)), 0.9 + 0.32 * max(1, len(table))))
    image = axes.imshow(values, vmin=0, vmax=top, cmap="magma_r", aspect="auto")
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.3f}", ha="center", va="center", fontsize=7,
                      color="white" if value > 0.6 * top else "black")
    axes.set_xticks(np.arange(len(columns)), columns, fontsize=8)
    axes.set_yticks(np.arange(len(table)), list(table.index), fontsize=8)
    figure.colorbar(image, ax=axes, label=f"fraction of reference voxels (scale 0 to {top:.3g})")
    return png_base64(figure)
