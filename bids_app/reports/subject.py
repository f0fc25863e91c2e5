"""The per-image HTML report: QC picture, structure volumes and provenance in one self-contained file."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}
th {{ background: #eee; }} td:first-child {{ text-align: left; }} img {{ max-width: 100%; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Source: <code>{source}</code></p>
{flags}<h2>Segmentation</h2>
<img alt="T1w with the segmentation drawn on" src="data:image/png;base64,{figure}">
<h2>Structure volumes</h2>
{volumes}
{quality}
<h2>Provenance</h2>
<pre>{provenance}</pre>
</body></html>
"""


def write_subject_report(out_file: str, *, title: str, source: str, figure: str, volumes: str,
                         provenance: dict, flags: list[str] | None = None) -> str:
    """Write the HTML report; the picture is embedded so the file stands alone.

    ``flags``: failed plausibility checks, shown first (None: not checked).
    """
    figure_data = base64.b64encode(Path(figure).read_bytes()).decode("ascii")
    table = pd.read_csv(volumes, sep="\t").to_html(index=False, border=0)
    Path(out_file).write_text(_PAGE.format(
        title=html.escape(title), source=html.escape(source), figure=figure_data, volumes=table,
        flags=_flags_section(flags),
        quality=_quality_table(provenance.get("QualityControl")),
        provenance=html.escape(json.dumps(provenance, indent=2, default=str)),
    ))
    return out_file


def _quality_table(scores: dict | None) -> str:
    """SynthSeg's quality-control scores as a table, or nothing when the engine gave none."""
    if not scores:
        return ""
    table = pd.DataFrame({"structure group": list(scores), "score": list(scores.values())})
    return "<h2>Quality control (SynthSeg)</h2>\n" + table.to_html(index=False, border=0)


def _flags_section(flags: list[str] | None) -> str:
    """The plausibility checks' verdict: a warning list when any failed."""
    if flags is None:
        return ""
    if not flags:
        return "<p>Plausibility checks: all passed.</p>\n"
    items = "".join(f"<li>{html.escape(flag)}</li>" for flag in flags)
    return (f'<h2 style="color:#b00">Quality flags: this segmentation failed {len(flags)} plausibility '
            f'check(s)</h2>\n<ul>{items}</ul>\n')
