"""``subseg bids_dir out train``: bad inputs fail before training with one line.

A short run end to end, and participant with its model, is the README's train recipe: ``test_readme_train.py``.
"""

from __future__ import annotations

import shutil

import nibabel as nb
import numpy as np
import pytest

from bids_app.cli.parser import parse_args
from bids_app.cli.run import main
from bids_app.config import Config
from bids_app.errors import SubsegError
from bids_app.train import run_train


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
