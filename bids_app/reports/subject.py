"""The per-image HTML report: methods, QC picture with legend, interactive viewer, volumes and provenance.

One self-contained file: the picture, the images of the viewer and the viewer itself are embedded.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import nibabel as nb
import numpy as np
import pandas as pd

from .legend import legend_html
from .methods import methods_text
from .provenance import provenance_html
from .viewer import viewer_html
from .volume_table import labelled_brain_volume, paired_volumes

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 90em; color: #222; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #eee; } td:first-child { text-align: left; } img { max-width: 100%; }
th.section { text-align: left; background: #dde6f0; }
table.provenance td { text-align: left; vertical-align: top; } table.provenance code { white-space: pre-wrap; }
.figure { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.figure img { flex: 1 1 60em; min-width: 30em; background: black; }
ul.legend { list-style: none; padding: 0; margin: 0; columns: 2; font-size: 0.85em; flex: 0 1 24em; }
ul.legend li { white-space: nowrap; } .swatch { display: inline-block; width: 1em; height: 1em;
  margin-right: 0.4em; vertical-align: middle; border: 1px solid #555; }
.methods { background: #f6f6f0; padding: 0.8em 1em; border-left: 4px solid #bba; }
.references { font-size: 0.85em; } .note { color: #555; font-size: 0.9em; }
.viewer-box { width: 100%; max-width: 1100px; height: 600px; background: black; }
.viewer-controls { display: flex; gap: 2em; margin: 0.5em 0; flex-wrap: wrap; }
"""


def _methods_html(provenance: dict, metadata: dict, preprocessing: dict) -> str:
    text, references = methods_text(provenance, preprocessing, metadata.get("SoftwareVersions", {}))
    numbers = {key: number for number, (key, _) in enumerate(references, start=1)}
    for key, number in numbers.items():
        text = text.replace(f"[{key}]", f"[{number}]")
    items = "".join(f"<li>{html.escape(reference)}</li>" for _, reference in references)
    return (f'<p class="methods">{html.escape(text)}</p><p class="note">Generated from this run\'s records; '
            f'copy it into your methods section and cite:</p><ol class="references">{items}</ol>')


def _intracranial_volume(volumes: pd.DataFrame, brain_mask: str | None) -> tuple[float | None, str]:
    """ICV in mm^3 and a sentence saying where it comes from (None and why not when it cannot be known)."""
    if brain_mask:
        mask = nb.load(brain_mask)
        voxel = float(abs(np.linalg.det(mask.affine[:3, :3])))
        return (float(np.count_nonzero(np.asanyarray(mask.dataobj))) * voxel,
                "the brain mask stored with this segmentation (desc-brain_mask)")
    estimate = labelled_brain_volume(volumes)
    if estimate is not None:
        return estimate, ("an estimate: the volume of every labelled structure (brain tissue and ventricles, "
                          "without extra-cerebral CSF, so shares read slightly high)")
    return None, ""


def _volumes_html(volumes: pd.DataFrame, brain_mask: str | None) -> str:
    icv, source = _intracranial_volume(volumes, brain_mask)
    table = paired_volumes(volumes, icv)
    if icv is None:
        table = table.drop(columns=["left_pct_icv", "right_pct_icv", "pct_icv"])
    table = table.rename(columns={
        "left_mm3": "Left (mm³)", "right_mm3": "Right (mm³)", "volume_mm3": "Midline (mm³)",
        "asymmetry_index": "Asymmetry (L−R)/mean", "left_pct_icv": "Left (% ICV)",
        "right_pct_icv": "Right (% ICV)", "pct_icv": "Midline (% ICV)"})
    formats = {column: ("{:.1f}" if "mm³" in column else "{:.3f}") for column in table.columns[1:]}
    for column, pattern in formats.items():
        table[column] = table[column].map(lambda value, p=pattern: "" if pd.isna(value) else p.format(value))
    note = (f"ICV {icv / 1000:.1f} cm³, from {source}." if icv is not None else
            "No share of intracranial volume: this run has no brain mask and its labels do not cover the whole "
            "brain.")
    return (f'<p class="note">Asymmetry index (L−R)/((L+R)/2): positive when the left structure is larger. '
            f"{html.escape(note)}</p>" + table.to_html(index=False, border=0))


def _quality_table(scores: dict | None) -> str:
    """SynthSeg's quality-control scores as a table, or nothing when the engine gave none."""
    if not scores:
        return ""
    table = pd.DataFrame({"structure group": list(scores), "score": list(scores.values())})
    return "<h2>Quality control (SynthSeg)</h2>\n" + table.to_html(index=False, border=0)


def _self_consistency_table(field: dict | None) -> str:
    """The test-time flip's agreement per structure (``SelfConsistency``), or nothing without a test-time flip."""
    if not field:
        return ""
    table = pd.DataFrame({"structure": list(field["Dice"]), "Dice plain vs mirrored": list(field["Dice"].values())})
    table["flagged"] = ["yes" if name in field["Flagged"] else "" for name in table["structure"]]
    return (f"<h2>Self-consistency (test-time flip)</h2><p class=\"note\">Dice between the labels of the head and "
            f"of the head mirrored left-right (homologs swapped back); below {field['Threshold']} is a quality "
            "flag. No reference needed.</p>\n" + table.to_html(index=False, border=0))


def write_subject_report(out_file: str, *, title: str, source: str, figure: str, volumes: str, provenance: dict,
                         t1w: str, dseg: str, brain_mask: str | None = None, metadata: dict | None = None,
                         preprocessing: dict | None = None, flags: list[str] | None = None) -> str:
    """Write the HTML report for one label map of one T1w.

    ``flags``: failed plausibility checks, shown first (None: not checked).
    """
    metadata, preprocessing = metadata or {}, preprocessing or {}
    shown_source = (metadata.get("Sources") or [source])[0]  # the BIDS URI when the run recorded one
    figure_data = base64.b64encode(Path(figure).read_bytes()).decode("ascii")
    volume_rows = pd.read_csv(volumes, sep="\t")
    t1w_image, dseg_image = nb.load(t1w), nb.load(dseg)
    sections = [
        f"<h1>{html.escape(title)}</h1><p>Source: <code>{html.escape(shown_source)}</code></p>"
        + _flags_section(flags),
        "<h2>Methods</h2>" + _methods_html(provenance, metadata, preprocessing),
        "<h2>Segmentation</h2><p class=\"note\">Subcortical structures filled, other labels outlined, T1w "
        "underneath; left: slices through the whole head, right: the deep grey matter enlarged.</p>"
        f'<div class="figure"><img alt="T1w with the segmentation drawn on" '
        f'src="data:image/png;base64,{figure_data}">{legend_html(volume_rows["label"])}</div>',
        "<h2>Viewer</h2><p class=\"note\">Drag to move the cursor, scroll to change slice; the structure under "
        "the cursor is named above the image.</p>" + viewer_html(t1w_image, dseg_image),
        "<h2>Structure volumes</h2>" + _volumes_html(volume_rows, brain_mask),
        _quality_table(provenance.get("QualityControl")),
        _self_consistency_table(provenance.get("SelfConsistency")),
        "<h2>Provenance</h2>" + provenance_html({
            "Segmentation": {key: value for key, value in provenance.items()
                             if key not in ("QualityControl", "SelfConsistency")},
            "Preprocessing": preprocessing,
            "Run": {key: value for key, value in metadata.items() if key not in ("Description",)},
        }),
    ]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(sections) + "\n</body></html>\n")
    Path(out_file).write_text(page)
    return out_file


def _flags_section(flags: list[str] | None) -> str:
    """The plausibility checks' verdict: a warning list when any failed."""
    if flags is None:
        return ""
    if not flags:
        return "<p>Plausibility checks: all passed.</p>\n"
    items = "".join(f"<li>{html.escape(flag)}</li>" for flag in flags)
    return (f'<h2 style="color:#b00">Quality flags: this segmentation failed {len(flags)} plausibility '
            f'check(s)</h2>\n<ul>{items}</ul>\n')
