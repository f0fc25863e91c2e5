"""SynthSeg 2.0's quality control, ported, against the same network in Keras fed as ``predict_synthseg.py``
feeds it (argmax, ``MakeShape``, QC groups, one-hot), on a weights file in the published layout and a real
T1w. As for the chained networks, float64 compares the whole chain; float32 gives both the same segmentation
(Keras's), since rounding may flip the argmax of a near-tie voxel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bids_app.engines.synthseg.convert import load_keras_weights
from bids_app.engines.synthseg.labels import QC_NAMES, SEGMENTATION_LABELS, qc_groups
from bids_app.engines.synthseg.network import SynthSegNetwork
from bids_app.engines.synthseg.qc import QCNetwork, box_around_brain, qc_input, scores_by_group

pytest.importorskip("tensorflow", reason="the Keras reference needs the test extra tensorflow-cpu")
from port_checks import TOLERANCE, at_precision, channels_first  # noqa: E402
from synthseg_keras_reference import (  # noqa: E402
    build_qc,
    build_unet,
    make_shape,
    original_flip_indices,
    predict_qc,
    predict_standard,
    save_published_layout,
)

LABELS = np.array(SEGMENTATION_LABELS["2.0"])
#: The box the quality control sees, by precision: in float32 smaller than the crop on two axes and larger on
#: the third, with odd sizes to pool; in float64 even sizes (TensorFlow pools float64 as 2x2x2 blocks).
BOX = {"float32": 56, "float64": 32}


@pytest.fixture(scope="module")
def qc_files(tmp_path_factory):
    """SynthSeg 2.0's segmentation U-Net and the QC regressor with random weights, each in its own file in the
    published layout, and both in double precision."""
    folder = tmp_path_factory.mktemp("qc")
    networks = {}
    for dtype in ("float32", "float64"):
        networks[dtype] = (build_unet(1, len(LABELS), seed=6, dtype=dtype),
                           build_qc(len(QC_NAMES) + 1, seed=7, dtype=dtype))
    for single, double in zip(networks["float32"], networks["float64"]):
        double.set_weights(single.get_weights())
    save_published_layout([networks["float32"][0]], folder / "synthseg_2.0.h5")
    save_published_layout([networks["float32"][1]], folder / "synthseg_qc_2.0.h5")
    return networks, folder


@pytest.mark.parametrize("version", ["_2.0", ""])
def test_groups_and_names_match_original_tables(label_table, version):
    """predict_synthseg aligns the QC table with the sorted segmentation labels; names as its CSV header."""
    labels, first = np.unique(label_table(f"synthseg_segmentation_labels{version}"), return_index=True)
    assert qc_groups(labels) == label_table(f"synthseg_qc_labels{version}")[first].tolist()
    _, first = np.unique(label_table(f"synthseg_qc_labels{version}"), return_index=True)
    assert tuple(label_table(f"synthseg_qc_names{version}")[first][1:].tolist()) == QC_NAMES


@pytest.mark.parametrize("box", [
    (slice(10, 30), slice(5, 40), slice(0, 48)),  # crop on one axis, pad on two (odd margins)
    (slice(0, 48), slice(0, 48), slice(20, 21)),  # the whole volume on two axes
    (slice(0, 0), slice(0, 0), slice(0, 0)),  # no brain: the box starts at the corner
])
def test_box_around_brain_matches_make_shape(box):
    channels = np.zeros((48, 48, 48), dtype=np.int32)
    channels[box] = 7
    channels[2, 2, 2] = 24  # ignored, as channel 0
    expected = make_shape(channels, 40).numpy()
    assert np.array_equal(box_around_brain(torch.from_numpy(channels), 40).numpy(), expected)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_qc_matches_keras(qc_files, t1w_crop, label_table, dtype):
    (unet, regressor), folder = qc_files[0][dtype], qc_files[1]
    table = label_table("synthseg_segmentation_labels_2.0")
    _, flip_indices = original_flip_indices(table, n_neutral_labels=19)
    labels_qc = label_table("synthseg_qc_labels_2.0")[np.unique(table, return_index=True)[1]]
    image = at_precision(t1w_crop, dtype)
    segmentation = predict_standard(unet, image, flip_indices, 0)
    raw, reported = predict_qc(regressor, segmentation, LABELS, labels_qc, BOX[dtype])
    network = SynthSegNetwork("2.0").eval()
    load_keras_weights(network.segmentation_layers(), folder / "synthseg_2.0.h5")
    qc = QCNetwork().eval()
    load_keras_weights(qc.keras_layers(), folder / "synthseg_qc_2.0.h5")
    torch_dtype = getattr(torch, dtype)
    with torch.inference_mode():
        ours, _ = network.to(torch_dtype)(channels_first(image), 0)
        if dtype == "float32":
            ours = channels_first(segmentation)
        groups = qc_input(ours[0].argmax(0), LABELS, BOX[dtype], dtype=torch_dtype)
        ours_raw = qc.to(torch_dtype)(groups).numpy()
    assert np.abs(ours_raw - raw).max() < TOLERANCE[dtype]
    assert np.abs(np.array(list(scores_by_group(torch.from_numpy(ours_raw)).values())) - reported).max() <= 1e-4
    assert len(set(reported[reported < 1].tolist())) > 3  # scores vary between groups, not all clipped
