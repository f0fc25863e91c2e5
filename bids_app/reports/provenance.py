"""The run's provenance as readable rows: nested settings flattened to ``Section / Key`` and a value.

>>> provenance_rows({"Engine": "nnunet", "Folds": [0, 1], "Versions": {"torch": "2.3"}, "Empty": None})
[('Engine', 'nnunet'), ('Folds', '0, 1'), ('Versions / torch', '2.3')]
"""

from __future__ import annotations

import html


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def provenance_rows(record: dict, prefix: str = "") -> list[tuple[str, str]]:
    """``(key, text)`` pairs in the record's order; nested dicts become ``Outer / Inner``; empty values left out."""
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += provenance_rows(value, prefix=f"{name} / ")
        elif value not in (None, "", [], ()):
            rows.append((name, _value_text(value)))
    return rows


def provenance_html(sections: dict[str, dict]) -> str:
    """One two-column table per non-empty section (section title as a header row)."""
    body = []
    for title, record in sections.items():
        rows = provenance_rows(record or {})
        if not rows:
            continue
        body.append(f'<tr><th colspan="2" class="section">{html.escape(title)}</th></tr>')
        body += [f"<tr><td>{html.escape(key)}</td><td><code>{html.escape(text)}</code></td></tr>"
                 for key, text in rows]
    return '<table class="provenance">' + "".join(body) + "</table>"
