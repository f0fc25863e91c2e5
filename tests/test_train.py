"""``subseg bids_dir out train``: bad inputs fail before training with one line; a short run goes end to end."""

from __future__ import annotations

import json
import shutil

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from bids_app.cli.parser import parse_args
from bids_app.cli.run import main
from bids_app.config import Config
from bids_app.errors import SubsegError
from bids_app.labels import SUBCORTICAL
from bids_app.train import run_train
from tests.test_participant import run_subseg

EPOCHS, ITERATIONS = 2, 5


def _train(sample_bids, tmp_path, *extra, reference=None):
    reference = reference or sample_bids / "derivatives" / "reference"
    argv = [sample_bids, tmp_path / "out", "train", "-w", tmp_path / "work", "--reference-dir", reference,
            "--reference-desc", "aseg", *extra]
    return run_train(Config.from_args(parse_args(list(map(str, argv)))))


@pytest.fixture
def broken_reference(sample_bids, tmp_path):
    """A copy of the reference folder whose sub-01 map can be replaced."""
    folder = tmp_path / "reference"
    shutil.copytree(sample_bids / "derivatives" / "reference", folder)
    return folder, folder / "sub-01" / "anat" / "sub-01_desc-aseg_dseg.nii.gz"


@pytest.mark.parametrize("extra, message", [
    (["--train-size", "3"], "--train-size 3: only 2 subject"),
    (["--train-size", "2", "--participant-label", "01", "03"], "no reference label map for sub-03"),
    (["--train-size", "1", "--labels", "Left-Thalamus", "99999"], "99999 is not a FreeSurfer label number"),
    (["--train-size", "2", "--folds", "0"], "needs --train-size 5 or more"),
    ([], "needs --train-size"),
])
def test_bad_inputs_fail_before_training(sample_bids, tmp_path, extra, message):
    with pytest.raises(SubsegError, match=message):
        _train(sample_bids, tmp_path, *extra)
    assert not (tmp_path / "work").exists() and not (tmp_path / "out" / "models").exists()


def test_label_maps_off_the_image_grid_or_not_freesurfer_are_refused(sample_bids, tmp_path, broken_reference):
    folder, path = broken_reference
    image = nb.load(path)
    data = np.asanyarray(image.dataobj).astype(np.int32)
    nb.Nifti1Image(data[1:], image.affine).to_filename(path)
    with pytest.raises(SubsegError, match="sub-01_desc-aseg_dseg.nii.gz: not on the grid of .*sub-01_T1w"):
        _train(sample_bids, tmp_path, "--train-size", "2", reference=folder)
    data[0, 0, 0] = 99999
    nb.Nifti1Image(data, image.affine).to_filename(path)
    with pytest.raises(SubsegError, match="label numbers 99999 are not in the FreeSurfer table"):
        _train(sample_bids, tmp_path, "--train-size", "2", reference=folder)


def test_no_reference_dir_is_one_line_exit_1(sample_bids, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(sample_bids), str(tmp_path / "out"), "train", "--train-size", "1", "-w", str(tmp_path / "w")])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == "subseg: error: train needs --reference-dir (a BIDS derivatives folder of reference label maps)"


def test_configuration_other_than_3d_fullres_is_refused(sample_bids, tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args([str(sample_bids), str(tmp_path / "out"), "train", "--configuration", "2d"])
    assert "only 3d_fullres is supported" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(sample_bids, tmp_path_factory):
    """A short training run through the command line (it need not learn), and its model used by participant."""
    out = tmp_path_factory.mktemp("train") / "out"
    work = out.parent / "work"
    common = ["-w", work, "--nprocs", 1, "--omp-nthreads", 1, "--device", "cpu"]
    train = run_subseg(sample_bids, out, "train", "--reference-dir", sample_bids / "derivatives" / "reference",
                       "--reference-desc", "aseg", "--train-size", 2, "--seed", 3, "--epochs", EPOCHS,
                       "--iterations-per-epoch", ITERATIONS, *common)
    model = out / "models" / "nnunet2"
    # A model that need not learn may segment implausibly: its outputs are kept and flagged, exit 1.
    participant = run_subseg(sample_bids, out, "participant", "--model", model, "--desc", "nnunet2",
                             "--participant-label", "03", "--session-label", "1", *common, check=False)
    return out, model, train, participant


@pytest.mark.slow
def test_model_folder_split_and_summary(trained):
    out, model, _, _ = trained
    assert sorted(path.name for path in (out / "models").iterdir()) == ["nnunet2"]
    for relative in ("dataset.json", "plans.json", "fold_all/checkpoint_final.pth", "preprocessing.json"):
        assert (model / relative).is_file(), relative
    split = pd.read_csv(model / "split.tsv", sep="\t")
    assert split.to_dict("list") == {"participant_id": ["sub-01", "sub-02"], "role": ["train", "train"]}
    summary = json.loads((model / "training.json").read_text())
    assert summary["subjects"] == {"train": ["sub-01", "sub-02"], "held_out": []}
    assert summary["settings"]["trainer_class"] == "nnUNetTrainerSubsegCPU"
    assert summary["settings"]["labels"] == sorted(SUBCORTICAL) and summary["settings"]["seed"] == 3
    assert summary["device"] == "cpu" and summary["wall_time_seconds"] > 0
    assert [epoch["epoch"] for epoch in summary["epochs"]] == list(range(EPOCHS))
    assert {"train_loss", "val_loss", "pseudo_dice", "pseudo_dice_per_label"} <= set(summary["epochs"][-1])
    assert json.loads((model / "preprocessing.json").read_text())["BiasCorrection"] is None


@pytest.mark.slow
def test_participant_segments_with_the_trained_model(sample_bids, trained):
    out, _, _, participant = trained
    t1w = sample_bids / "sub-03" / "ses-1" / "anat" / "sub-03_ses-1_T1w.nii.gz"
    dseg_path = out / "sub-03" / "ses-1" / "anat" / "sub-03_ses-1_desc-nnunet2_dseg.nii.gz"
    source, dseg = nb.load(t1w), nb.load(dseg_path)
    assert dseg.shape == source.shape
    np.testing.assert_array_equal(dseg.affine, source.affine)
    assert set(np.unique(np.asanyarray(dseg.dataobj)).tolist()) <= {0, *SUBCORTICAL}
    sidecar = json.loads(dseg_path.with_name(dseg_path.name.replace(".nii.gz", ".json")).read_text())
    assert sidecar["Model"] == "nnunet2" and sidecar["Trainer"] == "nnUNetTrainerSubsegCPU"
    assert participant.returncode == (1 if sidecar["QualityFlags"] else 0), participant.stderr
