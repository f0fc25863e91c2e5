"""Change of structure volumes over sessions, against the noise of repeat scans.

Per subject, desc and series (acquisition, reconstruction), each later session is compared with the first
(by ``acq_time`` in ``sub-<label>_sessions.tsv`` when every session has one, else by session label). Repeat
runs within a session are averaged, and their spread gives the repeat-scan noise: per structure, the
repeatability coefficient RC = 1.96 * sqrt(mean(d^2)) over all pairs of runs of one session, d the percent
difference of a pair (Bland & Altman). A change is marked beyond noise when its size in percent exceeds RC.

>>> volumes = pd.DataFrame({"subject": "01", "session": ["a", "a", "b"], "acquisition": "",
...     "reconstruction": "", "run": ["1", "2", "1"], "desc": "x", "structure": "Left-Hippocampus",
...     "label": 17, "volume_mm3": [4000.0, 4040.0, 3800.0]})
>>> change = volume_change(volumes, {("01", "a"): pd.Timestamp("2020-01-01"),
...                                  ("01", "b"): pd.Timestamp("2022-01-01")})
>>> change[["session", "change_mm3", "change_pct", "change_pct_per_year", "repeat_noise_pct"]].round(2).values.tolist()
[['b', -220.0, -5.47, -2.73, 1.95]]
>>> bool(change["beyond_noise"].iloc[0])
True
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger("subseg")

SERIES = ["subject", "desc", "acquisition", "reconstruction"]

COLUMNS = SERIES + ["structure", "label", "baseline_session", "session", "years", "baseline_mm3", "volume_mm3",
                    "change_mm3", "change_pct", "change_pct_per_year", "repeat_noise_pct", "beyond_noise"]

_DAYS_PER_YEAR = 365.25


def session_times(bids_dir: Path, subjects) -> dict[tuple[str, str], pd.Timestamp]:
    """``acq_time`` of each (subject, session) from the raw dataset's ``sub-<label>_sessions.tsv`` files."""
    times = {}
    for subject in sorted(set(subjects)):
        table_path = Path(bids_dir) / f"sub-{subject}" / f"sub-{subject}_sessions.tsv"
        if not table_path.is_file():
            continue
        table = pd.read_csv(table_path, sep="\t", dtype=str, keep_default_na=False)
        if not {"session_id", "acq_time"} <= set(table.columns):
            continue
        for session, text in zip(table["session_id"], table["acq_time"]):
            moment = pd.to_datetime(text, errors="coerce") if text not in ("", "n/a") else pd.NaT
            if pd.isna(moment) and text not in ("", "n/a"):
                logger.warning("%s: acq_time %r of %s is not a date; change per year left out", table_path, text,
                               session)
            if not pd.isna(moment):
                times[(subject, session.removeprefix("ses-"))] = moment.tz_localize(None) \
                    if moment.tzinfo else moment
    return times


def repeat_noise(volumes: pd.DataFrame) -> pd.Series:
    """Repeatability coefficient (percent) per structure label, from sessions with several runs (may be empty)."""
    squares: dict[int, list[float]] = {}
    for (*_, label), group in volumes.groupby([*SERIES, "session", "label"], dropna=False)["volume_mm3"]:
        values = group.to_numpy(dtype=float)
        for first in range(len(values)):
            for second in range(first + 1, len(values)):
                mean = (values[first] + values[second]) / 2
                if mean > 0:
                    squares.setdefault(int(label), []).append((100 * (values[first] - values[second]) / mean) ** 2)
    return pd.Series({label: 1.96 * np.sqrt(np.mean(values)) for label, values in squares.items()}, dtype=float)


def volume_change(volumes: pd.DataFrame, times: dict[tuple[str, str], pd.Timestamp]) -> pd.DataFrame:
    """Per series, structure and later session: change from the first session (see the module docstring)."""
    volumes = volumes.copy()
    for column in [*SERIES, "session", "run"]:
        volumes[column] = volumes[column].fillna("").astype(str).replace("nan", "")
    noise = repeat_noise(volumes)
    sessions = volumes.groupby([*SERIES, "session", "structure", "label"], as_index=False)["volume_mm3"].mean()
    rows = []
    for key, series in sessions.groupby(SERIES):
        labels = sorted(set(series["session"]))
        if len(labels) < 2:
            continue
        moments = {label: times.get((key[0], label)) for label in labels}
        dated = all(moment is not None for moment in moments.values())
        order = sorted(labels, key=lambda label: (moments[label], label) if dated else label)
        baseline = order[0]
        base = series[series["session"] == baseline].set_index("label")
        for session in order[1:]:
            years = (moments[session] - moments[baseline]).days / _DAYS_PER_YEAR if dated else np.nan
            for _, row in series[series["session"] == session].iterrows():
                if row["label"] not in base.index:
                    continue
                before = float(base.loc[row["label"], "volume_mm3"])
                change = float(row["volume_mm3"]) - before
                percent = 100 * change / before if before > 0 else np.nan
                rc = noise.get(int(row["label"]), np.nan)
                rows.append({
                    **dict(zip(SERIES, key)), "structure": row["structure"], "label": int(row["label"]),
                    "baseline_session": baseline, "session": session, "years": years, "baseline_mm3": before,
                    "volume_mm3": float(row["volume_mm3"]), "change_mm3": change, "change_pct": percent,
                    "change_pct_per_year": percent / years if dated and years > 0 else np.nan,
                    "repeat_noise_pct": rc,
                    "beyond_noise": bool(abs(percent) > rc) if np.isfinite(rc) and np.isfinite(percent) else pd.NA,
                })
    return pd.DataFrame(rows, columns=COLUMNS)
