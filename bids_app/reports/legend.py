"""The colour legend of a label map: FreeSurfer names beside their colours, subcortical structures first.

>>> [label.index for label in legend_labels([53, 3, 17, 1000])][:3]
[17, 53, 3]
"""

from __future__ import annotations

import html

from ..labels import LABELS, SUBCORTICAL, Label


def legend_labels(indices) -> list[Label]:
    """Labels of ``indices`` known to the table: subcortical in the project's order, then by number."""
    present = {int(index) for index in indices if int(index) in LABELS and int(index) != 0}
    first = [LABELS[index] for index in SUBCORTICAL if index in present]
    return first + [LABELS[index] for index in sorted(present - set(SUBCORTICAL))]


def legend_html(indices) -> str:
    """A list of colour swatches with the label number and FreeSurfer name."""
    items = "".join(
        f'<li><span class="swatch" style="background:{label.color}"></span>{label.index} '
        f"{html.escape(label.name)}</li>" for label in legend_labels(indices))
    return f'<ul class="legend">{items}</ul>'
