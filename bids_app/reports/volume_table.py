"""The report's volume table: each Left/Right pair on one row, its asymmetry and its share of the head.

>>> volumes = pd.DataFrame({"label": [17, 53, 16], "volume_mm3": [4000.0, 3600.0, 20000.0]})
>>> table = paired_volumes(volumes, icv_mm3=1_500_000.0)
>>> print(table[["structure", "left_mm3", "right_mm3", "volume_mm3", "asymmetry_index", "pct_icv"]].to_string())
     structure  left_mm3  right_mm3  volume_mm3  asymmetry_index  pct_icv
0  Hippocampus    4000.0     3600.0         NaN            0.105      NaN
1   Brain-Stem       NaN        NaN     20000.0              NaN    1.333
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LABELS, SUBCORTICAL, homologous_pairs, structure_name

#: Labels of cortex and white matter: a label map holding them covers the whole brain.
_WHOLE_BRAIN = {2, 3, 41, 42}

COLUMNS = ["structure", "left_mm3", "right_mm3", "volume_mm3", "asymmetry_index", "left_pct_icv",
           "right_pct_icv", "pct_icv"]


def asymmetry_index(left: float, right: float) -> float:
    """(L - R) / ((L + R) / 2): positive when the left structure is larger; NaN when both are empty."""
    mean = (left + right) / 2
    return (left - right) / mean if mean > 0 else np.nan


def labelled_brain_volume(volumes: pd.DataFrame) -> float | None:
    """Volume of every labelled brain structure, when the label map covers the whole brain (else None).

    An estimate of intracranial volume that leaves out the extra-cerebral CSF, so it is a lower bound: shares
    of it read a little higher than shares of a true intracranial volume.
    """
    present = set(int(label) for label in volumes["label"])
    if not _WHOLE_BRAIN <= present:
        return None
    return float(volumes["volume_mm3"].sum())


def paired_volumes(volumes: pd.DataFrame, icv_mm3: float | None) -> pd.DataFrame:
    """One row per Left/Right pair (subcortical pairs first) and per midline structure, in mm^3.

    Volumes are rounded to 0.1 mm^3, the asymmetry index to 3 decimals and the shares of ``icv_mm3`` to
    3 decimals of a percent (NaN when ``icv_mm3`` is None).
    """
    by_label = {int(label): float(volume) for label, volume in zip(volumes["label"], volumes["volume_mm3"])}
    pairs = homologous_pairs(label for label in by_label if label in LABELS)
    order = {label: position for position, label in enumerate(SUBCORTICAL)}
    pairs.sort(key=lambda pair: (order.get(pair[0], len(order)), pair[0]))
    paired = {label for pair in pairs for label in pair}
    rows = []

    def share(volume):
        return round(100 * volume / icv_mm3, 3) if icv_mm3 else np.nan

    for left, right in pairs:
        rows.append({
            "structure": structure_name(LABELS[left].name),
            "left_mm3": round(by_label[left], 1), "right_mm3": round(by_label[right], 1), "volume_mm3": np.nan,
            "asymmetry_index": round(asymmetry_index(by_label[left], by_label[right]), 3),
            "left_pct_icv": share(by_label[left]), "right_pct_icv": share(by_label[right]), "pct_icv": np.nan,
        })
    for label in sorted(set(by_label) - paired):
        name = LABELS[label].name if label in LABELS else f"label-{label}"
        rows.append({"structure": name, "left_mm3": np.nan, "right_mm3": np.nan,
                     "volume_mm3": round(by_label[label], 1), "asymmetry_index": np.nan,
                     "left_pct_icv": np.nan, "right_pct_icv": np.nan, "pct_icv": share(by_label[label])})
    return pd.DataFrame(rows, columns=COLUMNS)
