"""The README's sample commands run as written in a fresh clone: install, sample, participant, group.

Blocks marked ``<!-- readme-test: sample -->`` run in order, as written, in one fresh clone. A block added for
another level only needs the marker.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKER = "<!-- readme-test: sample -->"
INSTALL = "bash scripts/install.sh && "


def sample_blocks() -> list[str]:
    """The shell block right after each marker, in README order."""
    text = (REPO / "README.md").read_text()
    return re.findall(re.escape(MARKER) + r"\s*```bash\n(.*?)```", text, flags=re.S)


def _run(command: str, folder: Path, env=None, timeout=3600) -> None:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


def _dseg_files(bids: Path) -> list[str]:
    return sorted(path.name for path in (bids / "derivatives" / "subseg").rglob("*_desc-meshnet_dseg.nii.gz"))


def test_first_block_installs_then_runs_the_sample_and_the_group_block_scores_it():
    blocks = sample_blocks()
    assert blocks[0].startswith(INSTALL)
    assert ".venv/bin/subseg sample sample_bids && " in blocks[0] and blocks[0].rstrip().endswith(" participant")
    assert any("group --reference-dir sample_bids/derivatives/reference" in block for block in blocks[1:])


@pytest.mark.slow
def test_sample_blocks_run_as_written_in_a_fresh_clone(tmp_path):
    """A bare clone in an empty folder, every marked block as written, in order: the first one installs the app
    alone (no test tools), writes the sample and segments it; the next ones score it."""
    clone = tmp_path / "subseg"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "VIRTUAL_ENV") and not name.startswith("SUBSEG_")}
    for block in sample_blocks():
        _run(block, clone, env=env)

    bids = clone / "sample_bids"
    assert _dseg_files(bids) == ["sub-01_desc-meshnet_dseg.nii.gz", "sub-02_desc-meshnet_dseg.nii.gz",
                                 "sub-03_ses-1_desc-meshnet_dseg.nii.gz",
                                 "sub-03_ses-2_acq-tilted_desc-meshnet_dseg.nii.gz"]
    import pandas as pd

    metrics = pd.read_csv(bids / "derivatives/subseg/group/metrics.tsv", sep="\t", dtype={"subject": str})
    dice = metrics[(metrics.metric == "dice") & (metrics.structure == "Left-Thalamus")].set_index("subject")
    assert set(dice.index) == {"01", "02"}
    assert (dice.value > 0.7).all()
    assert (bids / "derivatives/subseg/group/report.html").is_file()

    absent = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import importlib.util as u; "
         "print([m for m in ('tensorflow', 'monai', 'pytest', 'pooch') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert absent == "[]"
    assert not (clone / "tests/js/node_modules").exists()
