"""The PyTorch port of brainchop's MeshNet gives TensorFlow.js's numbers on crops of a real T1w.

The reference is TensorFlow.js 4.22 (pure JS) in node, run by ``tests/js/meshnet_reference.mjs``; its
dependencies come from ``npm ci --prefix tests/js``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nibabel as nb
import numpy as np
import pytest
import torch

from bids_app.engines.meshnet import inference
from bids_app.engines.meshnet.engine import load_packaged_model
from bids_app.engines.meshnet.preprocess import min_max, uint8_intensities

JS = Path(__file__).resolve().parents[1] / "js"
TOLERANCE = 1e-4

# (model, crop of t1_crop.nii.gz): deep grey matter for the 104-class model, the brain's edge for mindgrab
# (25 layers: about 20 s in TensorFlow.js's JS backend, hence slow).
CASES = [
    pytest.param("model21_104class", np.s_[112:144, 100:132, 116:148], id="model21_104class"),
    pytest.param("mindgrab", np.s_[116:140, 40:64, 116:140], id="mindgrab", marks=pytest.mark.slow),
]
MODELS = ["model21_104class", "mindgrab"]


@pytest.fixture(scope="module")
def t1w_volume(shared_data) -> np.ndarray:
    """The real T1w as the networks see it (0..255 integers, min-max scaled)."""
    image = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz")
    return min_max(uint8_intensities(np.asanyarray(image.dataobj)))


def tfjs_reference(model_json: Path, volume: np.ndarray, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Logits (classes, D, H, W) and argmax labels (D, H, W) from TensorFlow.js."""
    if not (JS / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        pytest.fail(f"TensorFlow.js is not installed in {JS / 'node_modules'}: run `npm ci --prefix tests/js`")
    source = folder / "input.f32"
    np.ascontiguousarray(volume, dtype="<f4").tofile(source)
    subprocess.run(
        ["node", str(JS / "meshnet_reference.mjs"), str(model_json), str(source), *map(str, volume.shape),
         str(folder / "out")],
        check=True, capture_output=True, text=True, timeout=300,
    )
    logits = np.fromfile(folder / "out.logits.f32", "<f4").reshape(*volume.shape, -1)
    labels = np.fromfile(folder / "out.labels.i32", "<i4").reshape(volume.shape)
    return np.moveaxis(logits, -1, 0), labels


@pytest.mark.parametrize(("model_name", "crop"), CASES)
def test_port_matches_tensorflow_js(model_name, crop, t1w_volume, tmp_path):
    model = load_packaged_model(model_name)
    volume = np.ascontiguousarray(t1w_volume[crop])
    expected_logits, expected_labels = tfjs_reference(model.model_json, volume, tmp_path)
    assert len(np.unique(expected_labels)) > 1, "the crop should hold more than one class"

    ours = inference.logits(model.network, torch.from_numpy(volume))[0].numpy()
    labels, posteriors = inference.classify(
        model.network, torch.from_numpy(volume), groups=torch.arange(model.network.n_classes)
    )

    assert np.abs(ours - expected_logits).max() < TOLERANCE
    np.testing.assert_array_equal(labels.numpy(), expected_labels)
    expected_posteriors = torch.softmax(torch.from_numpy(expected_logits), 0).numpy()
    assert np.abs(posteriors.numpy() - expected_posteriors).max() < TOLERANCE


@pytest.mark.parametrize("model_name", MODELS)
def test_plain_forward_matches_slabbed_inference(model_name, t1w_volume):
    model = load_packaged_model(model_name)
    volume = torch.from_numpy(np.ascontiguousarray(t1w_volume[110:140, 96:124, 116:148]))
    with torch.inference_mode():
        plain = model.network(volume[None, None])
    slabbed = inference.logits(model.network, volume, slab=7)
    assert (plain - slabbed).abs().max().item() < TOLERANCE
