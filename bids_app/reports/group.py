"""The group report: one self-contained HTML page (figures embedded as base64 PNG, no network)."""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template

import pandas as pd

from bids_app.reports import group_figures, longitudinal_figure, study_figure
from bids_app.reports.tables import HEADLINE


def _image(png: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


def _image_name(row) -> str:
    parts = [f"sub-{row['subject']}"] + [f"{key}-{row[name]}" for name, key in
                                         (("session", "ses"), ("acquisition", "acq"), ("run", "run"))
                                         if str(row.get(name, "")) not in ("", "nan")]
    return "_".join(parts)


def _study_figure(metrics: pd.DataFrame, symmetry: pd.DataFrame, jobs, bids_dir: Path | None) -> str:
    """The side-by-side figure of the chosen images (see ``study_figure``), with the reason for each row."""
    dice = metrics[metrics["metric"] == "dice"].copy()
    dice["value"] = dice["value"].astype(float)
    dice["image"] = dice.apply(_image_name, axis=1)
    flags = symmetry.copy()
    flags["image"] = flags.apply(_image_name, axis=1) if len(flags) else pd.Series(dtype=str)
    choices = study_figure.choose_images(dice, flags)
    if not choices:
        return "<p>No subject has a reference.</p>"
    by_image: dict[str, list] = {}
    for job in jobs:
        if job.reference is not None:
            by_image.setdefault(_image_name(job.entities), []).append(job)
    rows = [study_figure.load_row(choice, by_image[choice.image], dice, Path(bids_dir or ".")) for choice in choices]
    missing = sum(row.t1w is None for row in rows)
    note = (f'<p class="note">{missing} row(s) without a T1w underneath: their T1w is not in the raw dataset '
            "(named by the label map's sidecar Sources).</p>" if missing else "")
    undrawn = (int(flags["hemisphere_swap"].astype(bool).sum()) if len(flags) else 0) - sum(
        "hemisphere swap" in choice.why for choice in choices)
    if undrawn > 0:
        note += (f'<p class="note">{undrawn} more image(s) flagged as hemisphere swaps are not drawn (the '
                 f"{study_figure.MAX_SWAP_ROWS} with the largest swap fractions are); symmetry.tsv lists every "
                 "one.</p>")
    return note + _image(group_figures.png_base64(study_figure.draw(rows)), "reference and every desc side by side")


def _change_section(change: pd.DataFrame) -> str:
    """Change over sessions: how many changes exceed repeat-scan noise, the figure, and where the table is."""
    known = change["beyond_noise"].dropna()
    if len(known):
        counts = (f"{int(known.astype(bool).sum())} of {len(known)} structure changes exceed the repeat-scan noise "
                  "(filled markers; grey band: ± the repeatability coefficient).")
    else:
        counts = "No session has repeat runs, so no change can be set against repeat-scan noise."
    per_year = "" if change["years"].notna().all() else (" Change per year is left out: not every session has an "
                                                         "acq_time in its subject's _sessions.tsv.")
    return (f'<h2>Change over sessions</h2><p class="note">Percent volume change from each subject\'s first '
            f"session (longitudinal.tsv). {html.escape(counts + per_year)}</p>"
            + _image(group_figures.png_base64(longitudinal_figure.change_figure(change)), "change over sessions"))


def _headline_html(headline: pd.DataFrame, dataset: str) -> str:
    """The headline table with one column group per dataset, as in the study's table."""
    table = headline.set_index("desc")
    table.columns = pd.MultiIndex.from_tuples([tuple(column.split(" ", 1)) if column.startswith(f"{dataset} ")
                                               else ("", column) for column in table.columns])
    table.index.name = None
    return table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="n/a", border=0)


def render(frames: dict[str, pd.DataFrame], summary: pd.DataFrame, headline: pd.DataFrame, dataset: str,
           unmatched: list[str], jobs, bids_dir: Path | None = None, change: pd.DataFrame | None = None) -> str:
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
        dataset=html.escape(dataset), overview=html.escape(overview),
        headline=_headline_html(headline, dataset) + footnote,
        boxes=boxes, symmetry=symmetry, confusion=confusion,
        study=(_study_figure(metrics, frames["symmetry"], jobs, bids_dir) if not metrics.empty
               else "<p>No references given.</p>"),
        unmatched=unmatched_html,
        longitudinal=_change_section(change) if change is not None and len(change) else "",
    )
