"""The README's train recipe runs as written on the sample dataset: model folder, progress lines, then participant."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from bids_app.labels import SUBCORTICAL

REPO = Path(__file__).resolve().parents[1]


def train_block() -> str:
    """The fenced bash block of the README's train section that runs ``subseg ... train``."""
    section = REPO.joinpath("README.md").read_text().split("## Train level", 1)[1].split("\n## ", 1)[0]
    blocks = [block for block in re.findall(r"```bash\n(.*?)```", section, re.S) if "sample_bids" in block]
    assert len(blocks) == 1, "the train section needs one bash block on the sample dataset"
    return blocks[0]


def test_the_recipe_trains_on_the_sample_dataset():
    block = train_block()
    assert " train " in block and "sample_bids/derivatives/reference" in block


def _run(command: str, folder: Path) -> subprocess.CompletedProcess:
    """One README command in its own process group, killed whole on timeout."""
    command = command.replace(".venv/bin/subseg", f"{sys.executable} -m bids_app")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the whole command, not only its shell
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)


@pytest.mark.slow
def test_the_recipe_runs_as_written(sample_bids, tmp_path):
    """Training writes the model folder, its split and summary; the short model segments sub-03 on its own grid and
    exits 1 exactly when the sidecar carries QualityFlags."""
    shutil.copytree(sample_bids, tmp_path / "sample_bids")
    train, segment = [line for line in train_block().splitlines() if line.strip()]
    trained = _run(train, tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    models = list((tmp_path / "sample_bids" / "derivatives" / "subseg" / "models").iterdir())
    assert len(models) == 1
    model = models[0]
    assert model.name == "nnunet2"
    for relative in ("dataset.json", "plans.json", "fold_all/checkpoint_final.pth", "preprocessing.json"):
        assert (model / relative).is_file(), relative
    split = pd.read_csv(model / "split.tsv", sep="\t")
    assert split.to_dict("list") == {"participant_id": ["sub-01", "sub-02"], "role": ["train", "train"]}
    summary = json.loads((model / "training.json").read_text())
    assert summary["subjects"] == {"train": ["sub-01", "sub-02"], "held_out": []}
    assert summary["settings"]["trainer_class"] == "nnUNetTrainerSubsegCPU"
    assert summary["settings"]["labels"] == sorted(SUBCORTICAL)
    assert summary["device"] == "cpu" and summary["wall_time_seconds"] > 0
    epochs = len(summary["epochs"])
    assert [epoch["epoch"] for epoch in summary["epochs"]] == list(range(epochs))
    assert {"train_loss", "val_loss", "pseudo_dice", "pseudo_dice_per_label"} <= set(summary["epochs"][-1])
    assert json.loads((model / "preprocessing.json").read_text())["BiasCorrection"] is None
    lines = [line for line in trained.stderr.splitlines() if re.search(r"\| epoch \d+/\d+: train loss", line)]
    assert len(lines) == epochs, trained.stderr[-3000:]
    assert re.search(rf"epoch {epochs}/{epochs}: train loss -?\d\.\d{{4}}, pseudo-Dice \d\.\d{{3}}, [\d.]+ s; "
                     rf"{epochs}/{epochs} epochs, ", lines[-1])
    assert "about" in lines[0] and "left" in lines[0]

    segmented = _run(segment, tmp_path)
    bids = tmp_path / "sample_bids"
    anat = bids / "derivatives" / "subseg" / "sub-03" / "ses-1" / "anat"
    assert sorted(path.name for path in anat.glob("*_dseg.nii.gz")) == ["sub-03_ses-1_desc-nnunet2_dseg.nii.gz"]
    source, dseg = nb.load(bids / "sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz"), nb.load(
        anat / "sub-03_ses-1_desc-nnunet2_dseg.nii.gz")
    assert dseg.shape == source.shape
    np.testing.assert_array_equal(dseg.affine, source.affine)
    assert set(np.unique(np.asanyarray(dseg.dataobj)).tolist()) <= {0, *SUBCORTICAL}
    sidecar = json.loads((anat / "sub-03_ses-1_desc-nnunet2_dseg.json").read_text())
    assert sidecar["Model"] == "nnunet2" and sidecar["Trainer"] == "nnUNetTrainerSubsegCPU"
    flagged = bool(sidecar.get("QualityFlags"))
    assert segmented.returncode == (1 if flagged else 0), segmented.stderr[-3000:]
    assert ("flagged as implausible" in segmented.stderr) == flagged
