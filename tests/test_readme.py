"""The README's sample commands run as written in a fresh clone: install, sample, participant, group.

Blocks marked ``<!-- readme-test: sample -->`` run in order, as written, in one fresh clone (the ``quick_start``
fixture, whose outputs the participant tests also read). A block added for another level only needs the marker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from readme_blocks import INSTALL, sample_blocks


def _dseg_files(bids: Path) -> list[str]:
    return sorted(path.name for path in (bids / "derivatives" / "subseg").rglob("*_desc-meshnet_dseg.nii.gz"))


def test_first_block_installs_then_runs_the_sample_and_the_group_block_scores_it():
    blocks = sample_blocks()
    assert blocks[0].startswith(INSTALL)
    assert ".venv/bin/subseg sample sample_bids && " in blocks[0] and blocks[0].rstrip().endswith(" participant")
    assert any("group --reference-dir sample_bids/derivatives/reference" in block for block in blocks[1:])


@pytest.mark.slow
def test_sample_blocks_run_as_written_in_a_fresh_clone(quick_start):
    """The first block installs the app alone (no test tools), writes the sample and segments it; the next ones
    score it."""
    bids = quick_start / "sample_bids"
    assert _dseg_files(bids) == ["sub-01_desc-meshnet_dseg.nii.gz", "sub-02_desc-meshnet_dseg.nii.gz",
                                 "sub-03_ses-1_desc-meshnet_dseg.nii.gz",
                                 "sub-03_ses-2_acq-tilted_desc-meshnet_dseg.nii.gz"]
    metrics = pd.read_csv(bids / "derivatives/subseg/group/metrics.tsv", sep="\t", dtype={"subject": str})
    dice = metrics[(metrics.metric == "dice") & (metrics.structure == "Left-Thalamus")].set_index("subject")
    assert set(dice.index) == {"01", "02"}
    assert (dice.value > 0.7).all()
    assert (bids / "derivatives/subseg/group/report.html").is_file()

    absent = subprocess.run(
        [str(quick_start / ".venv/bin/python"), "-c", "import importlib.util as u; "
         "print([m for m in ('tensorflow', 'monai', 'pytest', 'pooch') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert absent == "[]"
    assert not (quick_start / "tests/js/node_modules").exists()
