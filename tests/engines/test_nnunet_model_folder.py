"""Bad nnU-Net model folders fail at construction with one clear line naming the folder or file."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.nnunet import ModelError, NNUNetEngine, nnunet_input, validate_model_folder

FOLDER = "nnUNetTrainerX__somePlans__3d_fullres"


def _model_folder(root, labels=None, folds=("all",), checkpoint="checkpoint_final.pth"):
    """A hand-made model folder: JSON files as nnU-Net writes them, checkpoints as placeholder bytes."""
    folder = root / FOLDER
    folder.mkdir()
    plans = {"plans_name": "somePlans", "image_reader_writer": "SimpleITKIO", "configurations": {"3d_fullres": {}}}
    labels = labels or {"background": 0, "Left-Thalamus": 1, "Right-Thalamus-Proper": 2}
    description = {"channel_names": {"0": "T1"}, "labels": labels, "file_ending": ".nii.gz", "numTraining": 1}
    (folder / "plans.json").write_text(json.dumps(plans))
    (folder / "dataset.json").write_text(json.dumps(description))
    for fold in folds:
        (folder / f"fold_{fold}").mkdir()
        if checkpoint:
            (folder / f"fold_{fold}" / checkpoint).write_bytes(b"not a real checkpoint")
    return folder


def _error(call) -> str:
    with pytest.raises(ModelError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_valid_folder_maps_label_names_to_freesurfer_numbers(tmp_path):
    model = validate_model_folder(_model_folder(tmp_path))
    assert model.folds == ("all",)
    assert model.freesurfer_labels == (0, 10, 49)
    assert (model.trainer, model.plans_name, model.configuration) == ("nnUNetTrainerX", "somePlans", "3d_fullres")


def test_default_folds_are_every_fold_folder_present(tmp_path):
    model = validate_model_folder(_model_folder(tmp_path, folds=("1", "0")))
    assert model.folds == ("0", "1")
    assert [path.parent.name for path in model.checkpoints] == ["fold_0", "fold_1"]


def test_missing_folder(tmp_path):
    assert str(tmp_path / "nowhere") in _error(lambda: validate_model_folder(tmp_path / "nowhere"))


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "random").mkdir()
    message = _error(lambda: NNUNetEngine(tmp_path / "random", device="cpu"))
    assert "not an nnU-Net model folder" in message and str(tmp_path / "random") in message


def test_folder_without_folds(tmp_path):
    folder = _model_folder(tmp_path, folds=())
    assert "no fold_* folders" in _error(lambda: validate_model_folder(folder))


def test_missing_fold(tmp_path):
    folder = _model_folder(tmp_path)
    message = _error(lambda: NNUNetEngine(folder, folds=["0"], device="cpu"))
    assert "fold 0 is missing" in message and str(folder) in message


def test_missing_checkpoint(tmp_path):
    folder = _model_folder(tmp_path, checkpoint=None)
    message = _error(lambda: NNUNetEngine(folder, device="cpu"))
    assert str(folder / "fold_all" / "checkpoint_final.pth") in message and "missing" in message


def test_other_checkpoint_name_missing(tmp_path):
    folder = _model_folder(tmp_path)
    assert "checkpoint_best.pth" in _error(lambda: validate_model_folder(folder, checkpoint="checkpoint_best.pth"))


def test_label_name_that_is_not_freesurfer(tmp_path):
    folder = _model_folder(tmp_path, labels={"background": 0, "Left-Thalamus": 1, "liver": 2})
    message = _error(lambda: NNUNetEngine(folder, device="cpu"))
    assert "'liver' is not a FreeSurfer label name" in message and "dataset.json" in message


def test_damaged_checkpoint(tmp_path):
    folder = _model_folder(tmp_path)
    plans = json.loads((folder / "plans.json").read_text())
    plans["configurations"]["3d_fullres"] = {
        "data_identifier": "x", "preprocessor_name": "DefaultPreprocessor", "batch_size": 2,
        "patch_size": [16, 16, 16], "spacing": [1.0, 1.0, 1.0], "normalization_schemes": ["ZScoreNormalization"],
        "use_mask_for_norm": [False], "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape", "resampling_fn_data_kwargs": {},
        "resampling_fn_seg_kwargs": {}, "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {}, "batch_dice": False,
        "architecture": {
            "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
            "arch_kwargs": {
                "n_stages": 2, "features_per_stage": [4, 8], "conv_op": "torch.nn.modules.conv.Conv3d",
                "kernel_sizes": [[3, 3, 3]] * 2, "strides": [[1, 1, 1], [2, 2, 2]], "n_conv_per_stage": [1, 1],
                "n_conv_per_stage_decoder": [1], "conv_bias": True,
                "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"affine": True},
                "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
                "nonlin_kwargs": {"inplace": True},
            },
            "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
        },
    }
    plans.update({"dataset_name": "Dataset001_X", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
                  "label_manager": "LabelManager", "foreground_intensity_properties_per_channel": {}})
    (folder / "plans.json").write_text(json.dumps(plans))
    message = _error(lambda: NNUNetEngine(folder, device="cpu"))
    assert str(folder / "fold_all" / "checkpoint_final.pth") in message and "cannot read checkpoint" in message


@pytest.mark.parametrize("reader", ["SimpleITKIO", "NibabelIO"])
def test_input_array_matches_nnunet_readers(tmp_path, reader):
    """The engine hands nnU-Net the array and spacing its readers make of the same file (trap: (z, y, x))."""
    from nnunetv2.imageio.nibabel_reader_writer import NibabelIO
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO

    affine = np.diag([1.0, 1.5, 2.5, 1.0])
    affine[:3, 3] = [-3, 4, 5]
    image = nb.Nifti1Image(np.random.default_rng(0).random((5, 6, 7)).astype(np.float32), affine)
    image.set_qform(affine, code=1)
    image.to_filename(tmp_path / "t1w.nii.gz")
    expected, properties = {"SimpleITKIO": SimpleITKIO, "NibabelIO": NibabelIO}[reader]().read_images(
        [str(tmp_path / "t1w.nii.gz")])
    array, ours = nnunet_input(nb.load(tmp_path / "t1w.nii.gz"))
    assert array.shape == expected.shape == (1, 7, 6, 5)
    assert np.allclose(array, expected)
    assert np.allclose(ours["spacing"], properties["spacing"])
