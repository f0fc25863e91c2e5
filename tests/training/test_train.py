"""A real training run leaves a model folder laid out as nnUNetv2_train writes it."""

from __future__ import annotations

import json

import pytest
import torch

from bids_app.labels import label_index


@pytest.mark.slow
def test_trained_model_folder_layout(tiny_nnunet_model, tiny_nnunet_labels):
    assert tiny_nnunet_model.name == "model"
    plans = json.loads((tiny_nnunet_model / "plans.json").read_text())
    description = json.loads((tiny_nnunet_model / "dataset.json").read_text())
    assert list(plans["configurations"]) == ["3d_fullres"]
    assert plans["configurations"]["3d_fullres"]["patch_size"] == [48, 48, 48]
    learned = {label_index(name) for name, value in description["labels"].items() if value}
    assert learned == set(tiny_nnunet_labels)
    checkpoint = torch.load(tiny_nnunet_model / "fold_all" / "checkpoint_final.pth", map_location="cpu",
                            weights_only=False)
    assert checkpoint["trainer_name"] == "nnUNetTrainerSubsegCPU"
    assert checkpoint["current_epoch"] == 20
    assert checkpoint["inference_allowed_mirroring_axes"] is None
