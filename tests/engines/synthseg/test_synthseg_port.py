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
CROP = (slice(80, 176), slice(96, 160), slice(80, 176))


@pytest.fixture(scope="module")
def t1w_crop(shared_data):
    """A real T1w crop, rescaled to [0, 1] as SynthSeg does, shape (1, 96, 64, 96, 1)."""
    data = np.asarray(nb.load(shared_data / "niivue" / "norm.mgz").dataobj, dtype=np.float32)[CROP]
    low, high = np.percentile(data, [0.5, 99.5])
    return ((np.clip(data, low, high) - low) / (high - low)).astype(np.float32)[None, ..., None]


@pytest.fixture(scope="module")
def published_file(tmp_path_factory):
    """A SynthSeg 2.0-shaped Keras U-Net with random weights, saved in the published h5 layout."""
    unet = build_unet(1, len(SEGMENTATION_LABELS["2.0"]))
    path = tmp_path_factory.mktemp("weights") / "synthseg_2.0.h5"
    save_published_layout([unet], path)
    return unet, path


def test_flip_permutation_matches_original_table(shared_data):
    table = np.load(shared_data / "synthseg" / "labels_classes_priors" / "synthseg_segmentation_labels_2.0.npy")
    labels, indices = original_flip_indices(table, n_neutral_labels=19)
    assert tuple(int(label) for label in labels) == SEGMENTATION_LABELS["2.0"]
    assert flip_permutation(SEGMENTATION_LABELS["2.0"]) == indices.tolist()


def test_unet_matches_keras(published_file, t1w_crop):
    unet_keras, path = published_file
    expected = unet_keras(t1w_crop, training=False).numpy()
    unet = UNet(1, len(SEGMENTATION_LABELS["2.0"])).eval()
    load_keras_weights(unet.keras_layers(), path)
    with torch.inference_mode():
        ours = unet(torch.from_numpy(t1w_crop).permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1).numpy()
    assert np.abs(ours - expected).max() < 1e-4
    assert np.array_equal(ours.argmax(-1), expected.argmax(-1))
    assert len(np.unique(expected.argmax(-1))) > 5  # the check covers many labels, not one winner


def test_flip_and_swap_matches_original(published_file, t1w_crop, shared_data):
    unet_keras, path = published_file
    table = np.load(shared_data / "synthseg" / "labels_classes_priors" / "synthseg_segmentation_labels_2.0.npy")
    labels, flip_indices = original_flip_indices(table, n_neutral_labels=19)
    lr_axis = 0  # norm.mgz is LIA
    expected = predict_standard(unet_keras, t1w_crop, flip_indices, lr_axis)
    network = SynthSegNetwork("2.0").eval()
    load_keras_weights(network.segmentation_layers(), path)
    with torch.inference_mode():
        ours, _ = network(torch.from_numpy(t1w_crop).permute(0, 4, 1, 2, 3), lr_axis)
    ours = ours.permute(0, 2, 3, 4, 1).numpy()
    assert np.abs(ours - expected).max() < 1e-4
    assert np.array_equal(labels[ours.argmax(-1)], labels[expected.argmax(-1)])


def test_converter_refuses_other_network(published_file):
    _, path = published_file
    with pytest.raises(WeightsMismatchError, match="unet_likelihood kernel has shape"):
        load_keras_weights(SynthSegNetwork("1.0").segmentation_layers(), path)
    with pytest.raises(WeightsMismatchError, match="layer unet2_conv_downarm_0_0 is missing"):
        load_keras_weights(SynthSegNetwork("2.0", robust=True).segmentation_layers(), path)
