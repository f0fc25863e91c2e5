"""A real training run leaves a model folder laid out as nnUNetv2_train writes it."""

from __future__ import annotations

import json

import pytest
import torch

from bids_app.labels import label_index


@pytest.mark.slow
def test_trained_model_folder_layout(tiny_nnunet_model, tiny_nnunet_labels):
    assert tiny_nnunet_model.name == "nnunet2"
    plans = json.loads((tiny_nnunet_model / "plans.json").read_text())
    description = json.loads((tiny_nnunet_model / "dataset.json").read_text())
    assert list(plans["configurations"]) == ["3d_fullres"]
    assert plans["configurations"]["3d_fullres"]["patch_size"] == [48, 48, 48]
    learned = {label_index(name) for name, value in description["labels"].items() if value}
    assert learned == set(tiny_nnunet_labels)
    checkpoint = torch.load(tiny_nnunet_model / "fold_all" / "checkpoint_final.pth", map_location="cpu",
                            weights_only=False)
    assert checkpoint["trainer_name"] == "nnUNetTrainerSubsegCPU"
    assert checkpoint["current_epoch"] == 30
    assert checkpoint["inference_allowed_mirroring_axes"] is None


@pytest.mark.slow
def test_hemisphere_aware_training_runs_and_the_engine_mirrors_with_swaps(sample_bids, tmp_path):
    """A short hemisphere-aware run on a crop of sub-01; the engine loads it with swapped test-time mirroring."""
    import nibabel as nb
    import numpy as np

    from bids_app.engines.nnunet import NNUNetEngine
    from bids_app.training.dataset import TrainingCase
    from bids_app.training.train import TrainingSettings, train

    image = nb.load(sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    labels = nb.load(sample_bids / "derivatives/reference/sub-01/anat/sub-01_desc-aseg_dseg.nii.gz")
    crop = tuple(slice(n // 2 - 40, n // 2 + 40) for n in image.shape)
    image, labels = image.slicer[crop], labels.slicer[crop]
    settings = TrainingSettings(epochs=2, iterations_per_epoch=3, hemisphere_aware=True)
    model_dir = train([TrainingCase("crop", image, labels)], tmp_path / "work", (10, 49, 11, 50), settings,
                      nthreads=1)

    engine = NNUNetEngine(model_dir, device="cpu", omp_nthreads=1)
    assert engine.provenance()["HemisphereAwareMirroring"] is True
    assert engine.provenance()["Trainer"] == "nnUNetTrainerSubsegHemisphere"
    assert engine.provenance()["TestTimeMirroringAxes"] == [2]
    result = engine.predict(image).labels
    assert result.shape == image.shape
    assert set(np.unique(np.asanyarray(result.dataobj)).tolist()) <= {0, 10, 49, 11, 50}
