"""The study's figure: for chosen images, the reference and every desc side by side on one slice, T1w underneath.

Chosen per desc: the images with the lowest, median and highest mean Dice, and the images flagged as a
hemisphere swap (those with the largest swap fractions, at most ``MAX_SWAP_ROWS`` beyond the three; the
symmetry table lists every one). Each row cuts the coronal slice through the centre of that image's worst
structure (in the reference) and shows the T1w (when the raw dataset has it) with every label map in
FreeSurfer colours.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bids_app.labels import LABELS, SUBCORTICAL  # noqa: E402
from bids_app.metrics import label_maps  # noqa: E402
from bids_app.metrics.structures import EMPTY_PREDICTION, EMPTY_REFERENCE, OK  # noqa: E402
from bids_app.reports.figures import label_edges, rgba_table  # noqa: E402
from bids_app.utils.conform import conform, resample_like  # noqa: E402
from bids_app.utils.label_counts import label_counts  # noqa: E402

logger = logging.getLogger("subseg")

_SCORED = (OK, EMPTY_PREDICTION, EMPTY_REFERENCE)
#: Rows per desc drawn for hemisphere swaps beyond the images chosen by Dice: a study of swapped
#: segmentations would otherwise draw every subject.
MAX_SWAP_ROWS = 3


@dataclass(frozen=True)
class Choice:
    """One row of the figure: an image scored with ``desc``, why it was chosen, its worst structure."""

    desc: str
    image: str
    why: str
    mean_dice: float
    worst_label: int
    worst_structure: str


def choose_images(dice: pd.DataFrame, symmetry: pd.DataFrame) -> list[Choice]:
    """Lowest, median and highest mean Dice per desc, then the hemisphere swaps, largest swap fraction first
    (each image once per desc; at most ``MAX_SWAP_ROWS`` swaps not already chosen by Dice).

    ``dice``: rows of the metrics table with ``metric == "dice"`` and an ``image`` column; ``symmetry``: the
    symmetry table with an ``image`` column.
    """
    dice = dice[dice["status"].isin(_SCORED)]
    chosen: dict[tuple[str, str], str] = {}
    for desc, group in dice.groupby("desc", sort=True):
        means = group.groupby("image")["value"].mean().sort_values(kind="stable")
        picks = (("lowest mean Dice", means.index[0]), ("median mean Dice", means.index[(len(means) - 1) // 2]),
                 ("highest mean Dice", means.index[-1]))
        for why, image in picks:
            chosen.setdefault((desc, image), why)
    swaps = symmetry[symmetry["hemisphere_swap"].astype(bool)].sort_values("swap_fraction", ascending=False,
                                                                            kind="stable")
    added: dict[str, int] = {}
    for _, row in swaps.iterrows():
        key = (row["desc"], row["image"])
        if key in chosen:
            chosen[key] = f"{chosen[key]}, hemisphere swap"
        elif added.get(row["desc"], 0) < MAX_SWAP_ROWS:
            chosen[key] = "hemisphere swap"
            added[row["desc"]] = added.get(row["desc"], 0) + 1
    choices = []
    for (desc, image), why in chosen.items():
        rows = dice[(dice["desc"] == desc) & (dice["image"] == image)].sort_values("value", kind="stable")
        if rows.empty:
            continue
        worst = rows.iloc[0]
        choices.append(Choice(desc, image, why, float(rows["value"].mean()), int(worst["label"]),
                              str(worst["structure"])))
    return choices


def source_t1w(prediction: Path, bids_dir: Path) -> Path | None:
    """The raw T1w a label map came from, read from its sidecar's ``Sources`` (``bids:raw:`` URI)."""
    sidecar = prediction.with_name(prediction.name.replace(".nii.gz", ".json").replace(".nii", ".json"))
    try:
        sources = json.loads(sidecar.read_text()).get("Sources", [])
    except (OSError, ValueError):
        return None
    for uri in sources:
        if isinstance(uri, str) and uri.startswith("bids:raw:") and (bids_dir / uri[len("bids:raw:"):]).is_file():
            return bids_dir / uri[len("bids:raw:"):]
    return None


@dataclass
class Row:
    """What one row draws: a coronal slice of each map, on the reference grid reoriented to RAS."""

    choice: Choice
    maps: dict[str, np.ndarray]  # "reference" first, then each desc; the reference with the labels shown only
    dice: dict[str, float]  # Dice of the worst structure per desc
    shown: np.ndarray  # the labels the descs produce
    t1w: np.ndarray | None = None  # the T1w's slice ...
    window: tuple[float, float] | None = None  # ... and its display range: its foreground's 1st-99.5th percentile


def load_row(choice: Choice, same_image, dice: pd.DataFrame, bids_dir: Path) -> Row:
    """The reference, every desc's label map of the same image (``same_image``: its scored jobs) and its T1w,
    on one RAS grid, cut through the worst structure's centre; each file is read once, and only the slices
    are kept (a study figure has up to a few rows per desc)."""
    reference_image, reference = label_maps.load_label_map(same_image[0].reference)

    def on_grid(image, data, order):
        loaded = nb.Nifti1Image(data, image.affine)
        if not label_maps.same_grid(image, reference_image):
            loaded = resample_like(loaded, reference_image, order)
        return np.asanyarray(conform(loaded, "RAS").dataobj)

    volumes = {"reference": on_grid(reference_image, reference, 0)}
    scores = {}
    for job in sorted(same_image, key=lambda job: job.entities["desc"]):
        prediction_image, prediction = label_maps.load_label_map(job.prediction)
        volumes[job.entities["desc"]] = on_grid(prediction_image, prediction, 0)
        rows = dice[(dice["desc"] == job.entities["desc"]) & (dice["image"] == choice.image)
                    & (dice["label"] == choice.worst_label)]
        scores[job.entities["desc"]] = float(rows["value"].iloc[0]) if len(rows) else np.nan
    shown = _shown_labels(volumes)
    index = _centre_slice(volumes["reference"], choice.worst_label if choice.worst_label in shown else None)
    maps = {name: np.where(np.isin(labels[:, index, :], shown), labels[:, index, :], 0)
            for name, labels in volumes.items()}
    del volumes
    chosen_job = next(job for job in same_image if job.entities["desc"] == choice.desc)
    t1w_path = source_t1w(chosen_job.prediction, bids_dir)
    if t1w_path is None:
        logger.warning("%s: its T1w is not in the raw dataset (sidecar Sources); the study figure shows the "
                       "labels alone", chosen_job.prediction.name)
        return Row(choice, maps, scores, shown)
    t1w_image = nb.load(t1w_path)
    t1w = on_grid(t1w_image, np.asanyarray(t1w_image.dataobj, dtype=np.float32), 1)
    foreground = t1w[t1w > 0]
    low, high = np.percentile(foreground if foreground.size else t1w, (1, 99.5))
    return Row(choice, maps, scores, shown, t1w[:, index, :].copy(), (float(low), float(high)))


def _centre_slice(reference: np.ndarray, label: int | None) -> int:
    """The coronal slice through the centre of ``label`` in the reference (the middle one for None or an
    absent label)."""
    per_slice = np.count_nonzero(reference == label, axis=(0, 2)) if label is not None else np.zeros(1)
    if not per_slice.any():
        return reference.shape[1] // 2
    return int(round(np.average(np.arange(len(per_slice)), weights=per_slice)))


def _slice_box(reference: np.ndarray, margin: int = 10) -> tuple[slice, slice]:
    """The 2D box around the subcortical structures of a slice (all labels when it has none)."""
    where = np.argwhere(np.isin(reference, SUBCORTICAL))
    where = where if len(where) else np.argwhere(reference > 0)
    if not len(where):
        return slice(None), slice(None)
    low, high = where.min(axis=0) - margin, where.max(axis=0) + margin + 1
    return tuple(slice(max(int(a), 0), min(int(b), n)) for a, b, n in zip(low, high, reference.shape))


def _shown_labels(volumes: dict[str, np.ndarray]) -> np.ndarray:
    """Labels the descs of a row produce: the reference is drawn with these only, so colours compare."""
    predicted = [np.flatnonzero(label_counts(labels)) for name, labels in volumes.items() if name != "reference"]
    return np.setdiff1d(np.unique(np.concatenate(predicted)), [0])


def draw(rows: list[Row]):
    """The figure: one row per chosen image, the reference then each desc, coronal slice, RAS display.

    FreeSurfer gives both sides of a pair one colour, so Left structures are filled and Right structures only
    outlined: a hemisphere swap shows as fills on the wrong side.
    """
    columns = max(len(row.maps) for row in rows)
    label_width, panel = 2.4, 3.0
    figure, axes = plt.subplots(len(rows), columns, figsize=(panel * columns + label_width, 3.2 * len(rows)),
                                squeeze=False, facecolor="white")
    for number, row in enumerate(rows):
        shown, maps = row.shown, row.maps
        box = _slice_box(maps["reference"])
        table = rgba_table(max(int(shown.max()) if len(shown) else 1, 1))
        left = np.array([LABELS[int(i)].hemi == "L" if int(i) in LABELS else True for i in range(len(table))])
        for column in range(columns):
            ax = axes[number, column]
            ax.set_axis_off()
            if column >= len(maps):
                continue
            name, labels = list(maps.items())[column]
            section = labels[box].T
            if row.t1w is not None:
                ax.imshow(row.t1w[box].T, cmap="gray", vmin=row.window[0], vmax=row.window[1], origin="lower",
                          interpolation="nearest")
            else:
                ax.imshow(np.zeros(section.shape), cmap="gray", vmin=0, vmax=1, origin="lower")
            fill, outline = table[section], table[section]
            fill[..., 3] = np.where((section > 0) & left[section], 0.55, 0.0)
            outline[..., 3] = np.where(label_edges(section), 1.0, 0.0)
            for layer in (fill, outline):
                ax.imshow(layer, origin="lower", interpolation="nearest")
            title = name if name == "reference" else f"{name}\n{row.choice.worst_structure}: Dice {row.dice[name]:.2f}"
            ax.set_title(title, fontsize=9, fontweight="bold" if name == row.choice.desc else "normal")
            style = {"color": "yellow", "fontsize": 8, "fontweight": "bold", "transform": ax.transAxes}
            ax.text(0.02, 0.5, "L", ha="left", va="center", **style)
            ax.text(0.98, 0.5, "R", ha="right", va="center", **style)
        choice = row.choice
        figure.text(0.01, 1 - (number + 0.5) / len(rows), f"{choice.image}\n{choice.desc}\n"
                    + choice.why.replace(", ", ",\n") + f"\nmean Dice {choice.mean_dice:.3f}",
                    fontsize=9, va="center", ha="left")
    figure.subplots_adjust(left=label_width / (panel * columns + label_width), right=0.99,
                           top=1 - 0.45 / (3.2 * len(rows)), bottom=0.01, wspace=0.04, hspace=0.25)
    return figure
