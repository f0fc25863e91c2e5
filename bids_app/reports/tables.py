"""Group tables built from the long metrics table: columns, summary statistics and the headline table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bids_app.metrics.structures import EMPTY_PREDICTION, EMPTY_REFERENCE, OK

IMAGE_COLUMNS = ["subject", "session", "acquisition", "reconstruction", "run", "desc"]

#: Columns of each long table written under ``group/``.
COLUMNS = {
    "metrics": IMAGE_COLUMNS + ["structure", "label", "metric", "value", "status"],
    "volumes": IMAGE_COLUMNS + ["structure", "label", "volume_mm3"],
    "symmetry": IMAGE_COLUMNS + ["foreground_dice", "merged_dice", "swap_fraction", "hemisphere_swap"],
    "symmetry_pairs": IMAGE_COLUMNS + ["structure", "left_label", "right_label", "merged_dice",
                                       "left_as_right", "right_as_left"],
    "folded_labels": IMAGE_COLUMNS + ["map", "label", "structure", "into_label", "into_structure", "voxels"],
}

#: Metrics of the headline table, by the name they carry there.
HEADLINE = {"DSC": "dice", "HD95": "hd95", "NSD": "nsd"}

SUMMARY_COLUMNS = ["desc", "structure", "label", "metric", "mean", "sd", "median", "n", "n_excluded"]


def _statistics(group: pd.DataFrame) -> pd.Series:
    """Mean, sd, median and n over structures scored on both sides; n_excluded counts one-sided ones."""
    included = group.loc[group["status"] == OK, "value"].astype(float)
    included = included[np.isfinite(included)]
    excluded = int(group["status"].isin([EMPTY_PREDICTION, EMPTY_REFERENCE]).sum())
    return pd.Series({
        "mean": included.mean() if len(included) else np.nan,
        "sd": included.std(ddof=1) if len(included) > 1 else np.nan,
        "median": included.median() if len(included) else np.nan,
        "n": len(included), "n_excluded": excluded,
    })


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, median, n and n_excluded per desc x structure x metric."""
    if metrics.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    keys = ["desc", "structure", "label", "metric"]
    summary = metrics.groupby(keys, sort=True)[["value", "status"]].apply(_statistics).reset_index()
    summary[["n", "n_excluded"]] = summary[["n", "n_excluded"]].astype(int)
    return summary[SUMMARY_COLUMNS]


def headline(metrics: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Rows = desc; columns = ``<dataset> DSC|HD95|NSD`` (mean over subjects and structures) and exclusions."""
    rows = []
    for desc, group in metrics.groupby("desc", sort=True):
        row = {"desc": desc}
        for title, metric in HEADLINE.items():
            values = group[group["metric"] == metric]
            row[f"{dataset} {title}"] = _statistics(values)["mean"]
        row[f"{dataset} n_excluded"] = int(_statistics(group[group["metric"] == "dice"])["n_excluded"])
        rows.append(row)
    columns = ["desc"] + [f"{dataset} {title}" for title in HEADLINE] + [f"{dataset} n_excluded"]
    return pd.DataFrame(rows, columns=columns)


def headline_markdown(metrics: pd.DataFrame, dataset: str) -> str:
    """The headline table in Markdown; ``*`` marks means that leave out empty structures (footnote)."""
    table = headline(metrics, dataset)
    titles = list(HEADLINE)
    lines = ["| desc | " + " | ".join(f"{dataset} {title}" for title in titles) + " |",
             "|---|" + "---:|" * len(titles)]
    for _, row in table.iterrows():
        mark = " *" if row[f"{dataset} n_excluded"] else ""
        cells = [f"{row[f'{dataset} {title}']:.3f}{mark}" if pd.notna(row[f"{dataset} {title}"]) else "n/a"
                 for title in titles]
        lines.append(f"| {row['desc']} | " + " | ".join(cells) + " |")
    lines += ["", "DSC: Dice; HD95: 95th-percentile Hausdorff distance (mm); NSD: normalized surface Dice. "
              "Means over subjects and structures."]
    if table[f"{dataset} n_excluded"].any():
        counts = ", ".join(f"{row['desc']}: {row[f'{dataset} n_excluded']}" for _, row in table.iterrows()
                           if row[f"{dataset} n_excluded"])
        lines.append(f"\\* Leaves out structures empty in the prediction or the reference (Dice 0, distances "
                     f"inf), counted per desc ({counts}).")
    return "\n".join(lines) + "\n"
