"""The change-over-sessions figure: percent volume change per structure, one line per subject and series."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bids_app.labels import LABELS, SUBCORTICAL, homologous_pairs  # noqa: E402


def _pairs(labels) -> list[tuple[int, int]]:
    """Subcortical Left/Right pairs present (all pairs when none is), hippocampus first, then project order."""
    order = {label: position for position, label in enumerate(SUBCORTICAL)}
    known = [label for label in labels if label in LABELS]
    pairs = homologous_pairs(label for label in known if label in order) or homologous_pairs(known)
    return sorted(pairs, key=lambda pair: (pair[0] != 17, order.get(pair[0], len(order)), pair[0]))


def change_figure(change: pd.DataFrame):
    """Panels per Left/Right pair (Left, Right side by side): percent change from baseline against years
    (or session order when dates are missing); filled markers where the change exceeds repeat-scan noise."""
    pairs = _pairs(set(change["label"].astype(int)))
    dated = change["years"].notna().all()
    figure, axes = plt.subplots(len(pairs), 2, figsize=(9, 2.3 * len(pairs)), squeeze=False, sharex=True)
    descs = sorted(change["desc"].unique())
    for row, pair in enumerate(pairs):
        for column, label in enumerate(pair):
            ax = axes[row, column]
            ax.axhline(0, color="#999", linewidth=0.6)
            rows = change[change["label"] == label]
            for keys, line in rows.groupby(["subject", "desc", "acquisition", "reconstruction"]):
                colour = plt.cm.tab10(descs.index(keys[1]) % 10)
                line = line.sort_values("years" if dated else "session")
                x = np.concatenate([[0.0], line["years"].to_numpy(float) if dated
                                    else np.arange(1, len(line) + 1, dtype=float)])
                y = np.concatenate([[0.0], line["change_pct"].to_numpy(float)])
                ax.plot(x, y, color=colour, linewidth=0.9, alpha=0.8)
                beyond = line["beyond_noise"].fillna(False).astype(bool).to_numpy()
                ax.scatter(x[1:][~beyond], y[1:][~beyond], s=14, facecolors="white", edgecolors=colour, zorder=3)
                ax.scatter(x[1:][beyond], y[1:][beyond], s=18, color=colour, zorder=3)
            noise = rows["repeat_noise_pct"].dropna()
            if len(noise):
                ax.axhspan(-noise.iloc[0], noise.iloc[0], color="#ddd", alpha=0.6, zorder=0)
            ax.set_title(LABELS[label].name, fontsize=9)
            ax.tick_params(labelsize=8)
            if column == 0:
                ax.set_ylabel("change (%)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("years since baseline" if dated else "session (after baseline)", fontsize=9)
    for number, desc in enumerate(descs):
        axes[0, 1].plot([], [], color=plt.cm.tab10(number % 10), label=desc)
    axes[0, 1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    figure.tight_layout()
    return figure
