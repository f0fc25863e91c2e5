"""The README's train recipe runs as written on the sample dataset: model folder, progress lines, then participant."""

from __future__ import annotations

import json
import re
import shutil

import nibabel as nb
import numpy as np
import pandas as pd
import pytest
from readme_blocks import run_command, train_commands

from bids_app.labels import SUBCORTICAL


def test_the_recipe_trains_on_the_sample_dataset():
    train, segment = train_commands()
    assert " train " in train and "sample_bids/derivatives/reference" in train
    assert " participant " in segment and "--model sample_bids/derivatives/subseg/models/nnunet2" in segment


@pytest.mark.slow
def test_the_recipe_runs_as_written(readme_training, tmp_path):
    """Training (the session's ``readme_training``) writes the model folder, its split and summary, one progress
    line per epoch; the model segments sub-03 on its own grid and the run exits 1 exactly when the sidecar carries
    QualityFlags."""
    recipe, stderr = readme_training
    shutil.copytree(recipe / "sample_bids", tmp_path / "sample_bids")
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
    lines = [line for line in stderr.splitlines() if re.search(r"\| epoch \d+/\d+: train loss", line)]
    assert len(lines) == epochs, stderr[-3000:]
    assert re.search(rf"epoch {epochs}/{epochs}: train loss -?\d\.\d{{4}}, pseudo-Dice \d\.\d{{3}}, [\d.]+ s; "
                     rf"{epochs}/{epochs} epochs, ", lines[-1])
    assert "about" in lines[0] and "left" in lines[0]

    segmented = run_command(train_commands()[1], tmp_path)
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
