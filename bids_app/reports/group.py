"""The group report: one self-contained HTML page (figures embedded as base64 PNG, no network)."""

from __future__ import annotations

import html
from importlib import resources
from string import Template

import numpy as np
import pandas as pd

from bids_app.metrics import label_maps
from bids_app.metrics.structures import OK
from bids_app.reports import group_figures
from bids_app.reports.tables import HEADLINE


def _image(png: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="n/a", border=0)


def _image_name(row) -> str:
    parts = [f"sub-{row['subject']}"] + [f"{key}-{row[name]}" for name, key in
                                         (("session", "ses"), ("acquisition", "acq"), ("run", "run"))
                                         if str(row.get(name, "")) not in ("", "nan")]
    return "_".join(parts)


def _outliers(metrics: pd.DataFrame, jobs) -> str:
    """Worst and Tukey-outlying subjects per desc, with a slice through their worst structure."""
    dice = metrics[(metrics["metric"] == "dice") & metrics["status"].isin([OK, "empty_prediction",
                                                                           "empty_reference"])].copy()
    if dice.empty:
        return "<p>No subject has a reference.</p>"
    dice["image"] = dice.apply(_image_name, axis=1)
    paths = {(job.entities["desc"], _image_name(job.entities)): job for job in jobs}
    sections = []
    for desc, group in dice.groupby("desc", sort=True):
        means = group.groupby("image")["value"].mean().sort_values()
        low, high = np.percentile(means, [25, 75])
        shown = [image for image in means.index if means[image] < low - 1.5 * (high - low)]
        shown = list(dict.fromkeys([means.index[0], *shown]))
        for image in shown:
            rows = group[group["image"] == image].sort_values("value")
            worst = rows.iloc[0]
            job = paths[(desc, image)]
            reference_image, reference = label_maps.load_label_map(job.reference)
            prediction_image, _ = label_maps.load_label_map(job.prediction)
            prediction = label_maps.align_prediction(prediction_image, reference_image, job.prediction)
            title = f"{desc} {image}: {worst['structure']} Dice {worst['value']:.3f}"
            picture = group_figures.worst_slice(reference, prediction, int(worst["label"]), title)
            sections.append(f"<h3>{html.escape(title)}</h3><p>mean Dice {means[image]:.3f}</p>"
                            + _image(picture, title))
    return "\n".join(sections)


def render(frames: dict[str, pd.DataFrame], summary: pd.DataFrame, headline: pd.DataFrame, dataset: str,
           unmatched: list[str], jobs) -> str:
    """The HTML page from the group tables."""
    metrics = frames["metrics"]
    template = Template(resources.files("bids_app.data").joinpath("group_report.html").read_text())
    scored = metrics[["subject", "session", "acquisition", "run", "desc"]].drop_duplicates()
    overview = (f"{len(jobs)} label maps, {len(scored)} scored against a reference; "
                f"descs: {', '.join(sorted({job.entities['desc'] for job in jobs}))}.")
    if metrics.empty:
        boxes = confusion = "<p>No references given: volumes only (volumes.tsv).</p>"
        symmetry = ""
    else:
        boxes = "\n".join(_image(group_figures.box_plots(metrics, metric, title), title)
                          for title, metric in HEADLINE.items())
        confusion = _image(group_figures.confusion_heat_map(frames["symmetry_pairs"]), "left/right confusion")
        flags = frames["symmetry"].copy()
        flags["hemisphere_swap"] = flags["hemisphere_swap"].map(
            lambda swapped: '<span class="flag">SWAP</span>' if swapped else "no")
        symmetry = flags.drop(columns=["reconstruction"]).to_html(
            index=False, float_format=lambda v: f"{v:.3f}", na_rep="n/a", border=0, escape=False)
    excluded = int(summary.loc[summary["metric"] == "dice", "n_excluded"].sum()) if len(summary) else 0
    footnote = (f'<p class="note">* {excluded} structure(s) empty in the prediction or the reference are left '
                "out of the means (Dice 0, distances inf; see metrics.tsv).</p>" if excluded else "")
    unmatched_html = ("<ul>" + "".join(f"<li>{html.escape(name)}</li>" for name in unmatched) + "</ul>"
                      if unmatched else "<p>None.</p>")
    return template.substitute(
        dataset=html.escape(dataset), overview=html.escape(overview), headline=_table(headline) + footnote,
        boxes=boxes, symmetry=symmetry, confusion=confusion,
        outliers=_outliers(metrics, jobs) if not metrics.empty else "<p>No references given.</p>",
        unmatched=unmatched_html,
    )
