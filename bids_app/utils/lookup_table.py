"""The label numbers of a BIDS lookup table (``dseg.tsv``), read as data and checked."""

from __future__ import annotations

import csv
from pathlib import Path

from bids_app.errors import SubsegError


class LookupTableError(SubsegError):
    """A ``dseg.tsv`` without integer label numbers (one line, naming it)."""


def lookup_table_path(folder: Path, desc: str | None = None) -> Path:
    """The derivatives folder's root ``dseg.tsv``, or ``desc-<desc>_dseg.tsv`` (one model's labels)."""
    return Path(folder) / (f"desc-{desc}_dseg.tsv" if desc else "dseg.tsv")


def table_indices(path: Path) -> list[int]:
    """The ``index`` column of the lookup table ``path``, as integers, in file order."""
    try:
        with Path(path).open(newline="") as handle:
            return [int(row["index"]) for row in csv.DictReader(handle, delimiter="\t")]
    except (KeyError, TypeError, ValueError):  # no index column, a short row, n/a, bytes that are not text
        raise LookupTableError(f"{path}: not a lookup table of label numbers (a BIDS dseg.tsv has an integer "
                               f"'index' column)") from None
