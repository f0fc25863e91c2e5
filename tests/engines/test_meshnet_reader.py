"""Reading brainchop's TensorFlow.js files, and the pieces around the network."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.meshnet import CONFORM
from bids_app.engines.meshnet.classes import class_labels, read_class_names
from bids_app.engines.meshnet.engine import is_conformed, load_packaged_model
from bids_app.engines.meshnet.preprocess import largest_component, uint8_intensities
from bids_app.engines.meshnet.tfjs import load_meshnet
from bids_app.labels import SUBCORTICAL
from bids_app.utils.conform import conform

PACKAGED = Path(str(resources.files("bids_app.data").joinpath("meshnet")))


def test_packaged_models_follow_their_files():
    segmenter = load_packaged_model("model21_104class")
    topology = json.loads(segmenter.model_json.read_text())["modelTopology"]["model_config"]["config"]["layers"]
    convs = [layer["config"] for layer in topology if layer["class_name"] == "Conv3D"]
    assert [step.conv.dilation for step in segmenter.network.steps] == [tuple(c["dilation_rate"]) for c in convs]
    assert [step.after for step in segmenter.network.steps] == [["relu"]] * (len(convs) - 1) + [[]]
    assert segmenter.network.n_classes == len(segmenter.classes) == 104
    assert not any(step.normalise for step in segmenter.network.steps)

    extractor = load_packaged_model("mindgrab")
    assert extractor.network.n_classes == 2
    assert [step.normalise for step in extractor.network.steps] == [True] * 25 + [False]
    assert {activation for step in extractor.network.steps for activation in step.after} == {"gelu"}
    assert all(step.conv.bias is None for step in extractor.network.steps[:-1])
    assert len(segmenter.sha256) == len(extractor.sha256) == 64


def test_licence_and_source_ship_with_the_weights():
    assert "MIT License" in (PACKAGED / "LICENSE").read_text()
    assert "4c87885f3a2a8835e260d521dcec922b58d91d41" in (PACKAGED / "SOURCE.md").read_text()


@pytest.fixture
def model_copy(tmp_path) -> Path:
    """A writable copy of the 104-class model's files."""
    folder = tmp_path / "model"
    shutil.copytree(PACKAGED / "model21_104class", folder)
    return folder / "model.json"


def _edit_layer(model_json: Path, name: str, **changes) -> None:
    document = json.loads(model_json.read_text())
    for layer in document["modelTopology"]["model_config"]["config"]["layers"]:
        if layer["config"]["name"] == name:
            layer.update({key: value for key, value in changes.items() if key == "class_name"})
            layer["config"].update({key: value for key, value in changes.items() if key != "class_name"})
    model_json.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"class_name": "BatchNormalization"}, "layer class BatchNormalization is not supported"),
        ({"filters": 20}, "kernel shape"),
        ({"kernel_size": [5, 5, 5]}, "kernel shape"),
        ({"strides": [2, 2, 2]}, "unsupported strides"),
        ({"activation": "swish"}, "activation 'swish' is not supported"),
        ({"use_bias": False}, "bias does not match"),
    ],
)
def test_mismatched_layer_is_refused_naming_file_and_layer(model_copy, changes, message):
    _edit_layer(model_copy, "23", **changes)
    with pytest.raises(ValueError, match=message) as error:
        load_meshnet(model_copy)
    assert str(model_copy) in str(error.value) and "layer 23" in str(error.value)


def test_truncated_weights_are_refused(model_copy):
    weights = model_copy.parent / "group1-shard1of1.bin"
    weights.write_bytes(weights.read_bytes()[:-4])
    with pytest.raises(ValueError, match="output/bias runs past the end"):
        load_meshnet(model_copy)


def test_class_names_map_to_freesurfer_numbers():
    names = read_class_names(PACKAGED / "model21_104class" / "colormap.json")
    plain, parcellated = class_labels(names, parc=False), class_labels(names, parc=True)
    assert set(SUBCORTICAL) <= set(plain) and set(SUBCORTICAL) <= set(parcellated)
    assert max(plain) < 1000 and {3, 42} <= set(plain)
    assert len(set(parcellated)) == 104
    assert {1035, 2035} <= set(parcellated) and not {3, 42} & set(parcellated)


def test_wide_intensities_are_rescaled_robustly():
    rng = np.random.default_rng(0)
    data = rng.uniform(100, 4000, (40, 40, 40))
    data[0, 0, 0] = 1e6  # one hot voxel must not squash the rest
    scaled = uint8_intensities(data)
    assert scaled.min() >= 0 and scaled.max() == 255
    assert np.median(scaled) > 50
    np.testing.assert_array_equal(scaled, np.floor(scaled))


def test_largest_component_keeps_the_big_cluster():
    labels = np.zeros((20, 20, 20), np.int16)
    labels[2:10, 2:10, 2:10] = 10
    labels[5:8, 5:8, 10:12] = 49  # touches the first block: same cluster
    labels[15:17, 15:17, 15:17] = 11
    cleaned = largest_component(labels)
    assert set(np.unique(cleaned)) == {0, 10, 49}
    np.testing.assert_array_equal(cleaned[labels != 11], labels[labels != 11])


def test_conformed_grid_is_recognised():
    image = nb.Nifti1Image(np.zeros((20, 24, 28), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    assert not is_conformed(image)
    assert is_conformed(conform(image, **CONFORM))
