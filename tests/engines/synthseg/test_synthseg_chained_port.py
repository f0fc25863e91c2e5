"""SynthSeg-robust 2.0 and the 2.0 cortical parcellation, ported, against the same networks in Keras chained
as ``predict_synthseg.py`` chains them, on weights files in the published layout and a real T1w.

In float64 the whole chain is compared at once. In float32 a hand-over (argmax, one-hot) may differ where
the previous network's two best posteriors are closer than rounding (one voxel in 200 000 here), and that
voxel then changes the next network's output around it; so each network is compared on the same hand-over,
Keras's, and our hand-over of Keras's posteriors must equal Keras's exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bids_app.engines.synthseg.convert import load_keras_weights
from bids_app.engines.synthseg.labels import PARCELLATION_LABELS, ROBUST_GROUPS, SEGMENTATION_LABELS
from bids_app.engines.synthseg.network import SynthSegNetwork, one_hot

pytest.importorskip("tensorflow", reason="the Keras reference needs the test extra tensorflow-cpu")
from port_checks import assert_same_posteriors, at_precision, channels_first, channels_last  # noqa: E402
from synthseg_keras_reference import (  # noqa: E402
    build_unet,
    one_hot_argmax,
    original_flip_indices,
    predict_parcellation,
    predict_robust,
    predict_standard,
    save_published_layout,
)

LABELS = np.array(SEGMENTATION_LABELS["2.0"])
#: norm.mgz is LIA: its left-right axis is the first.
LR_AXIS = 0


def _in_both_precisions(build):
    """``build(dtype)`` in float32, and again in float64 with the float32 weights."""
    single, double = build("float32"), build("float64")
    double.set_weights(single.get_weights())
    return {"float32": single, "float64": double}


@pytest.fixture(scope="module")
def robust_file(tmp_path_factory):
    """SynthSeg-robust 2.0's three networks (U-Net, denoiser, second U-Net) with random weights, in one file
    in the published layout."""
    networks = [
        _in_both_precisions(lambda dtype: build_unet(1, ROBUST_GROUPS, name="unet", seed=1, dtype=dtype)),
        _in_both_precisions(lambda dtype: build_unet(ROBUST_GROUPS, ROBUST_GROUPS, name="l2l", n_features=16,
                                                     conv_size=5, skip_n_concatenations=2, seed=2, dtype=dtype)),
        _in_both_precisions(lambda dtype: build_unet(1 + ROBUST_GROUPS, len(LABELS), name="unet2", seed=3,
                                                     dtype=dtype)),
    ]
    path = tmp_path_factory.mktemp("robust") / "synthseg_robust_2.0.h5"
    save_published_layout([network["float32"] for network in networks], path)
    return {dtype: [network[dtype] for network in networks] for dtype in ("float32", "float64")}, path


@pytest.fixture(scope="module")
def parcellation_files(tmp_path_factory):
    """SynthSeg 2.0's segmentation U-Net and the parcellation U-Net (image + one-hot cortex mask in) with
    random weights, each in its own file in the published layout."""
    folder = tmp_path_factory.mktemp("parc")
    unet = _in_both_precisions(lambda dtype: build_unet(1, len(LABELS), name="unet", seed=4, dtype=dtype))
    parc = _in_both_precisions(lambda dtype: build_unet(3, len(PARCELLATION_LABELS), name="unet_parc", seed=5,
                                                        dtype=dtype))
    save_published_layout([unet["float32"]], folder / "synthseg_2.0.h5")
    save_published_layout([parc["float32"]], folder / "synthseg_parc_2.0.h5")
    return {dtype: (unet[dtype], parc[dtype]) for dtype in ("float32", "float64")}, folder


def test_robust_groups_and_parcellation_labels_match_original_tables(label_table):
    assert len(np.unique(label_table("synthseg_denoiser_labels_2.0"))) == ROBUST_GROUPS
    assert tuple(np.unique(label_table("synthseg_parcellation_labels")).tolist()) == PARCELLATION_LABELS


def _robust_network(path, dtype):
    network = SynthSegNetwork("2.0", robust=True).eval()
    load_keras_weights(network.segmentation_layers(), path)
    return network.to(getattr(torch, dtype))


@pytest.mark.slow
def test_robust_matches_keras_in_float64(robust_file, t1w_crop):
    keras_models, path = robust_file
    image = at_precision(t1w_crop, "float64")
    expected = predict_robust(*keras_models["float64"], image, ROBUST_GROUPS)
    with torch.inference_mode():
        ours, parcellation = _robust_network(path, "float64")(channels_first(image), LR_AXIS)
    assert parcellation is None
    assert_same_posteriors(channels_last(ours), expected, LABELS, "float64")


@pytest.mark.slow
def test_robust_networks_match_keras_in_float32(robust_file, t1w_crop):
    (unet, l2l, unet2), path = robust_file[0]["float32"], robust_file[1]
    ours = _robust_network(path, "float32").segmentation
    image = at_precision(t1w_crop, "float32")
    groups = np.arange(ROBUST_GROUPS)
    with torch.inference_mode():
        posteriors = unet(image, training=False).numpy()
        assert_same_posteriors(channels_last(ours["unet"](channels_first(image))), posteriors, groups, "float32")
        hand_over = one_hot_argmax(posteriors, ROBUST_GROUPS).numpy()
        assert np.array_equal(channels_last(one_hot(channels_first(posteriors))), hand_over)
        posteriors = l2l(hand_over, training=False).numpy()
        assert_same_posteriors(channels_last(ours["l2l"](channels_first(hand_over))), posteriors, groups, "float32")
        both = np.concatenate([image, one_hot_argmax(posteriors, ROBUST_GROUPS).numpy()], -1)
        expected = unet2(both, training=False).numpy()
        assert_same_posteriors(channels_last(ours["unet2"](channels_first(both))), expected, LABELS, "float32")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parcellation_matches_keras(parcellation_files, t1w_crop, label_table, dtype):
    (unet, unet_parc), folder = parcellation_files[0][dtype], parcellation_files[1]
    _, flip_indices = original_flip_indices(label_table("synthseg_segmentation_labels_2.0"), n_neutral_labels=19)
    image = at_precision(t1w_crop, dtype)
    expected_segmentation = predict_standard(unet, image, flip_indices, LR_AXIS)
    expected = predict_parcellation(unet_parc, image, expected_segmentation, LABELS)
    network = SynthSegNetwork("2.0", parc=True).eval()
    load_keras_weights(network.segmentation_layers(), folder / "synthseg_2.0.h5")
    load_keras_weights(network.parcellation.keras_layers(), folder / "synthseg_parc_2.0.h5")
    network = network.to(getattr(torch, dtype))
    with torch.inference_mode():
        segmentation, ours = network(channels_first(image), LR_AXIS)
        if dtype == "float32":  # the parcellation of Keras's segmentation (see the module's docstring)
            ours = network.parcellate(channels_first(image), channels_first(expected_segmentation))
    assert_same_posteriors(channels_last(segmentation), expected_segmentation, LABELS, dtype)
    assert_same_posteriors(channels_last(ours), expected, np.array(PARCELLATION_LABELS), dtype)
