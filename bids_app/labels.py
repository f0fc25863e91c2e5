"""The FreeSurfer label table: numbers, names, colours, hemispheres and Left/Right homologs.

Every level of subseg (engines, derivatives, metrics, training) takes label facts from here.

>>> label_index("Left-Thalamus-Proper")
10
>>> LABELS[53].name, LABELS[53].hemi
('Right-Hippocampus', 'R')
>>> homolog(17), homolog(2035)
(53, 1035)
>>> structure_name("ctx-rh-insula")
'ctx-insula'
>>> parcel_parent(11101), parcel_parent(2035), parcel_parent(3001), parcel_parent(17)
(3, 42, 2, None)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .errors import SubsegError
from .utils.label_counts import label_counts

#: The 16 Left/Right subcortical structures the project reports on first.
SUBCORTICAL = (10, 49, 11, 50, 12, 51, 13, 52, 17, 53, 18, 54, 26, 58, 28, 60)

_ALIASES = {
    "BG": 0,
    "background": 0,
    "Left-Thalamus-Proper": 10,
    "Right-Thalamus-Proper": 49,
}
_PREFIXES = (("Left-", "Right-", "L", "R"), ("ctx-lh-", "ctx-rh-", "L", "R"), ("ctx_lh_", "ctx_rh_", "L", "R"),
             ("wm-lh-", "wm-rh-", "Lwm", "Rwm"), ("wm_lh_", "wm_rh_", "Lwm", "Rwm"))
#: The aseg label that FreeSurfer's parcellations (aparc+aseg, aparc.a2009s+aseg, wmparc, ...) subdivide,
#: by the name prefix (or name) of their parcels: cortex (3/42) and cerebral white matter (2/41).
_PARCEL_PARENTS = (("ctx-lh-", 3), ("ctx_lh_", 3), ("ctx-rh-", 42), ("ctx_rh_", 42),
                   ("wm-lh-", 2), ("wm_lh_", 2), ("wm-rh-", 41), ("wm_rh_", 41),
                   ("Left-UnsegmentedWhiteMatter", 2), ("Right-UnsegmentedWhiteMatter", 41))
#: Largest label value up to which parcels are folded with one lookup over every value (256 KB); a map with
#: labels above it (a stray corrupt value) is folded only below its largest parcel.
DENSE_FOLD_LOOKUP = 2**16


@dataclass(frozen=True)
class Label:
    """One FreeSurfer label."""

    index: int
    name: str
    color: str
    hemi: str  # "L", "R" or "" for midline structures

    @property
    def abbreviation(self) -> str:
        """Short name: ``L-``/``R-`` in place of the hemisphere prefix."""
        for left, right, short_left, short_right in _PREFIXES:
            if self.name.startswith(left):
                return f"{short_left}-{self.name[len(left):]}"
            if self.name.startswith(right):
                return f"{short_right}-{self.name[len(right):]}"
        return self.name


def _hemisphere(name: str) -> str:
    for left, right, short_left, short_right in _PREFIXES:
        if name.startswith(left):
            return short_left
        if name.startswith(right):
            return short_right
    return ""


@lru_cache(maxsize=1)
def _load() -> dict[int, Label]:
    text = resources.files("bids_app.data").joinpath("freesurfer_labels.tsv").read_text()
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    table = {}
    for row in rows:
        index = int(row["index"])
        color = "#{:02x}{:02x}{:02x}".format(int(row["r"]), int(row["g"]), int(row["b"]))
        table[index] = Label(index, row["name"], color, _hemisphere(row["name"]))
    return table


#: Every label of the table, by FreeSurfer number.
LABELS: dict[int, Label] = _load()


@lru_cache(maxsize=1)
def _by_name() -> dict[str, int]:
    names = {label.name: index for index, label in LABELS.items()}
    names.update(_ALIASES)
    return names


def label_index(name: str) -> int:
    """FreeSurfer number of a label name (old aliases such as ``*-Thalamus-Proper`` accepted).

    A trailing ``*`` (as in brainchop's tables) is ignored.
    """
    key = name.strip().rstrip("*")
    try:
        return _by_name()[key]
    except KeyError:
        raise KeyError(f"unknown FreeSurfer label name {name!r}") from None


def parcel_parent(index: int) -> int | None:
    """The aseg label a parcellation label subdivides (Left/Right-Cerebral-Cortex or -White-Matter), else None."""
    label = LABELS.get(int(index))
    if label is None:
        return None
    return next((parent for prefix, parent in _PARCEL_PARENTS if label.name.startswith(prefix)), None)


def structure_name(name: str) -> str:
    """Label name with its hemisphere prefix removed (``Left-Caudate`` -> ``Caudate``)."""
    for left, right, _, _ in _PREFIXES:
        for prefix in (left, right):
            if name.startswith(prefix):
                stem = prefix[: -len("lh-")] if prefix.startswith(("ctx", "wm")) else ""
                return stem + name[len(prefix):]
    return name


def homolog(index: int) -> int | None:
    """The label on the other hemisphere, or ``None`` for a midline label."""
    label = LABELS[index]
    for left, right, _, _ in _PREFIXES:
        for this, other in ((left, right), (right, left)):
            if label.name.startswith(this):
                return _by_name().get(other + label.name[len(this):])
    return None


def homologous_pairs(indices) -> list[tuple[int, int]]:
    """(left, right) pairs among ``indices`` whose homolog is also in ``indices``."""
    present = set(int(i) for i in indices)
    pairs = []
    for index in sorted(present):
        if LABELS[index].hemi == "L":
            other = homolog(index)
            if other in present:
                pairs.append((index, other))
    return pairs


def flip_permutation(labels) -> list[int]:
    """For each channel, the channel of its left/right homolog (itself for midline labels)."""
    labels = list(labels)
    return [labels.index(homolog(label)) if homolog(label) in labels else i for i, label in enumerate(labels)]


def swap_sides(label_map: np.ndarray) -> np.ndarray:
    """``label_map`` with every Left/Right label replaced by its homolog (right shapes, wrong sides).

    >>> swap_sides(np.array([0, 17, 53, 16])).tolist()
    [0, 53, 17, 16]
    """
    lookup = np.arange(int(label_map.max()) + 1)
    for label in np.unique(label_map):
        other = homolog(int(label)) if int(label) in LABELS else None
        if other is not None and other <= lookup[-1]:
            lookup[label] = other
    return lookup[label_map]


class LabelError(SubsegError, ValueError):
    """``--labels`` values that are not FreeSurfer labels (one line naming the value)."""


def resolve_labels(values) -> tuple[int, ...]:
    """FreeSurfer numbers of ``--labels`` values (names or numbers), sorted.

    >>> resolve_labels(["Left-Thalamus", "49", "Left-Thalamus-Proper"])
    (10, 49)
    """
    numbers = set()
    for value in values:
        value = str(value).strip()
        if value.isdigit():
            number = int(value)
            if number not in LABELS:
                raise LabelError(f"--labels: {number} is not a FreeSurfer label number")
        else:
            try:
                number = label_index(value)
            except KeyError:
                raise LabelError(f"--labels: {value!r} is not a FreeSurfer label name") from None
        if number == 0:
            raise LabelError("--labels: background (0) is always learned; give structures only")
        numbers.add(number)
    if not numbers:
        raise LabelError("--labels: no label given")
    return tuple(sorted(numbers))


def fold_parcels(data: np.ndarray, keep, counts: np.ndarray | None = None
                 ) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """``data`` with FreeSurfer parcels not in ``keep`` folded into the label they subdivide.

    Cortical parcels (aparc+aseg 1000s/2000s, aparc.a2009s+aseg 11100s/12100s, ...) become
    Left/Right-Cerebral-Cortex, white-matter parcels (wmparc) Left/Right-Cerebral-White-Matter, as in aseg.
    Returns the folded map and ``{parcel: (parent, voxels)}`` of what was folded. ``counts``: the map's
    ``label_counts``, when the caller has them already.

    >>> folded, record = fold_parcels(np.array([0, 11101, 12101, 17, 1035]), keep=[17, 1035])
    >>> folded.tolist(), record
    ([0, 3, 42, 17, 1035], {11101: (3, 1), 12101: (42, 1)})
    """
    keep = {int(label) for label in keep}
    counts = label_counts(data) if counts is None else counts
    present = np.flatnonzero(counts)
    parents = {int(label): parcel_parent(label) for label in present if int(label) not in keep}
    folds = {label: parent for label, parent in parents.items() if parent is not None}
    if not folds:
        return data, {}
    record = {label: (parent, int(counts[label])) for label, parent in sorted(folds.items())}
    size = len(counts) if len(counts) <= DENSE_FOLD_LOOKUP else max(folds) + 1
    lookup = np.arange(size, dtype=data.dtype)
    for label, parent in folds.items():
        lookup[label] = parent
    if size == len(counts):
        return lookup[data], record
    folded = data.copy()  # a stray label far above the parcels: a table up to it would be GBs
    below = data < size
    folded[below] = lookup[data[below]]
    return folded, record
