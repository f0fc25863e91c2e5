"""The PyTorch port against SynthSeg's Keras networks, on the same weights file and a real T1w."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bids_app.engines.synthseg.convert import WeightsMismatchError, load_keras_weights
from bids_app.engines.synthseg.labels import SEGMENTATION_LABELS, flip_permutation
from bids_app.engines.synthseg.network import SynthSegNetwork, UNet

pytest.importorskip("tensorflow", reason="the Keras reference needs the test extra tensorflow-cpu")
import nibabel as nb  # noqa: E402
from synthseg_keras_reference import (  # noqa: E402
    build_unet,
    original_flip_indices,
    predict_standard,
    save_published_layout,
)

#: Crop of norm.mgz (LIA) around the basal ganglia: axis 0 runs right to left.
CROP = (slice(96, 160), slice(104, 152), slice(96, 160))


@pytest.fixture(scope="module")
def t1w_crop(shared_data):
    """A real T1w crop, rescaled to [0, 1] as SynthSeg does, shape (1, 64, 48, 64, 1), float64."""
    data = np.asarray(nb.load(shared_data / "niivue" / "norm.mgz").dataobj, dtype=np.float32)[CROP]
    low, high = np.percentile(data, [0.5, 99.5])
    return ((np.clip(data, low, high) - low) / (high - low)).astype(np.float64)[None, ..., None]


@pytest.fixture(scope="module")
def published_file(tmp_path_factory):
    """A SynthSeg 2.0-shaped Keras U-Net with random weights, saved in the published h5 layout, and the same
    network in double precision."""
    unet = build_unet(1, len(SEGMENTATION_LABELS["2.0"]))
    path = tmp_path_factory.mktemp("weights") / "synthseg_2.0.h5"
    save_published_layout([unet], path)
    unet64 = build_unet(1, len(SEGMENTATION_LABELS["2.0"]), dtype="float64")
    unet64.set_weights(unet.get_weights())
    return {"float32": unet, "float64": unet64}, path


def _input(t1w_crop, dtype):
    """The crop as float32, or its central 32^3 as float64 (TensorFlow's float64 path is slow)."""
    return t1w_crop.astype(np.float32) if dtype == "float32" else t1w_crop[:, 16:48, 8:40, 16:48]


def _channels_first(array):
    return torch.from_numpy(array).permute(0, 4, 1, 2, 3)


def _compare(ours, expected, labels, dtype):
    """Posteriors to 1e-4 (float32) or 1e-10 (float64); label maps exactly. In float32, rounding may flip
    the argmax of a voxel whose two best posteriors are closer than the tolerance: only those may differ."""
    assert np.abs(ours - expected).max() < (1e-4 if dtype == "float32" else 1e-10)
    ours_labels, expected_labels = labels[ours.argmax(-1)], labels[expected.argmax(-1)]
    if dtype == "float64":
        assert np.array_equal(ours_labels, expected_labels)
    else:
        top_two = np.sort(expected, -1)[..., -2:]
        near_tie = (top_two[..., 1] - top_two[..., 0]) < 1e-4
        assert np.array_equal(ours_labels[~near_tie], expected_labels[~near_tie])
    assert len(np.unique(expected_labels)) > 5  # many labels win somewhere, not one everywhere


def test_flip_permutation_matches_original_table(shared_data):
    table = np.load(shared_data / "synthseg" / "labels_classes_priors" / "synthseg_segmentation_labels_2.0.npy")
    labels, indices = original_flip_indices(table, n_neutral_labels=19)
    assert tuple(int(label) for label in labels) == SEGMENTATION_LABELS["2.0"]
    assert flip_permutation(SEGMENTATION_LABELS["2.0"]) == indices.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unet_matches_keras(published_file, t1w_crop, dtype):
    keras_models, path = published_file
    image = _input(t1w_crop, dtype)
    expected = keras_models[dtype](image, training=False).numpy()
    unet = UNet(1, len(SEGMENTATION_LABELS["2.0"])).eval()
    load_keras_weights(unet.keras_layers(), path)
    with torch.inference_mode():
        ours = unet.to(getattr(torch, dtype))(_channels_first(image)).permute(0, 2, 3, 4, 1).numpy()
    _compare(ours, expected, np.array(SEGMENTATION_LABELS["2.0"]), dtype)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flip_and_swap_matches_original(published_file, t1w_crop, shared_data, dtype):
    keras_models, path = published_file
    table = np.load(shared_data / "synthseg" / "labels_classes_priors" / "synthseg_segmentation_labels_2.0.npy")
    labels, flip_indices = original_flip_indices(table, n_neutral_labels=19)
    lr_axis = 0  # norm.mgz is LIA
    image = _input(t1w_crop, dtype)
    expected = predict_standard(keras_models[dtype], image, flip_indices, lr_axis)
    network = SynthSegNetwork("2.0").eval()
    load_keras_weights(network.segmentation_layers(), path)
    with torch.inference_mode():
        ours, _ = network.to(getattr(torch, dtype))(_channels_first(image), lr_axis)
    _compare(ours.permute(0, 2, 3, 4, 1).numpy(), expected, labels, dtype)


def test_converter_refuses_other_network(published_file):
    _, path = published_file
    with pytest.raises(WeightsMismatchError, match=r"unet_likelihood kernel has shape \(1, 1, 1, 24, 33\)"):
        load_keras_weights(SynthSegNetwork("1.0").segmentation_layers(), path)
    with pytest.raises(WeightsMismatchError, match="layer l2l_conv_downarm_0_0 is missing"):
        load_keras_weights(SynthSegNetwork("2.0", robust=True).segmentation_layers(), path)
