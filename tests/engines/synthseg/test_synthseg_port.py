"""The PyTorch port against SynthSeg's Keras networks, on the same weights file and a real T1w."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bids_app.engines.synthseg.convert import WeightsMismatchError, load_keras_weights
from bids_app.engines.synthseg.labels import SEGMENTATION_LABELS
from bids_app.labels import flip_permutation
from bids_app.engines.synthseg.network import SynthSegNetwork, UNet

pytest.importorskip("tensorflow", reason="the Keras reference needs the test extra tensorflow-cpu")
from port_checks import assert_same_posteriors, at_precision, channels_first, channels_last  # noqa: E402
from synthseg_keras_reference import (  # noqa: E402
    build_unet,
    original_flip_indices,
    predict_standard,
    save_published_layout,
)


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


def test_flip_permutation_matches_original_table(label_table):
    table = label_table("synthseg_segmentation_labels_2.0")
    labels, indices = original_flip_indices(table, n_neutral_labels=19)
    assert tuple(int(label) for label in labels) == SEGMENTATION_LABELS["2.0"]
    assert flip_permutation(SEGMENTATION_LABELS["2.0"]) == indices.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unet_matches_keras(published_file, t1w_crop, dtype):
    keras_models, path = published_file
    image = at_precision(t1w_crop, dtype)
    expected = keras_models[dtype](image, training=False).numpy()
    unet = UNet(1, len(SEGMENTATION_LABELS["2.0"])).eval()
    load_keras_weights(unet.keras_layers(), path)
    with torch.inference_mode():
        ours = channels_last(unet.to(getattr(torch, dtype))(channels_first(image)))
    assert_same_posteriors(ours, expected, np.array(SEGMENTATION_LABELS["2.0"]), dtype)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flip_and_swap_matches_original(published_file, t1w_crop, label_table, dtype):
    keras_models, path = published_file
    table = label_table("synthseg_segmentation_labels_2.0")
    labels, flip_indices = original_flip_indices(table, n_neutral_labels=19)
    lr_axis = 0  # norm.mgz is LIA
    image = at_precision(t1w_crop, dtype)
    expected = predict_standard(keras_models[dtype], image, flip_indices, lr_axis)
    network = SynthSegNetwork("2.0").eval()
    load_keras_weights(network.segmentation_layers(), path)
    with torch.inference_mode():
        ours, _ = network.to(getattr(torch, dtype))(channels_first(image), lr_axis)
    assert_same_posteriors(channels_last(ours), expected, labels, dtype)


def test_converter_refuses_other_network(published_file):
    _, path = published_file
    with pytest.raises(WeightsMismatchError, match=r"unet_likelihood kernel has shape \(1, 1, 1, 24, 33\)"):
        load_keras_weights(SynthSegNetwork("1.0").segmentation_layers(), path)
    with pytest.raises(WeightsMismatchError, match="layer l2l_conv_downarm_0_0 is missing"):
        load_keras_weights(SynthSegNetwork("2.0", robust=True).segmentation_layers(), path)
