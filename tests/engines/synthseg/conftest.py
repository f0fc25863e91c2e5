"""Fixtures for the SynthSeg tests: a small real T1w and a weights file in the published layout."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest
from synthseg_keras_reference import save_torch_in_published_layout

from bids_app.engines.synthseg.network import SynthSegNetwork


@pytest.fixture(scope="session")
def t1w_64(shared_data):
    """A 64^3 crop (1 mm, LIA) of a real FreeSurfer norm.mgz through the basal ganglia."""
    image = nb.load(shared_data / "niivue" / "norm.mgz")
    full = nb.Nifti1Image(np.asarray(image.dataobj), image.affine)
    return full.slicer[96:160, 96:160, 96:160]


@pytest.fixture(scope="session")
def t1w_crop(shared_data):
    """A real T1w crop around the basal ganglia (norm.mgz is LIA: axis 0 runs right to left), rescaled to
    [0, 1] as SynthSeg does, shape (1, 64, 48, 64, 1), float64: the input of the port tests."""
    data = np.asarray(nb.load(shared_data / "niivue" / "norm.mgz").dataobj, dtype=np.float32)
    data = data[96:160, 104:152, 96:160]
    low, high = np.percentile(data, [0.5, 99.5])
    return ((np.clip(data, low, high) - low) / (high - low)).astype(np.float64)[None, ..., None]


@pytest.fixture(scope="session")
def label_table(shared_data):
    """SynthSeg's own label tables (``data/labels_classes_priors``), by file stem."""
    folder = shared_data / "synthseg" / "labels_classes_priors"
    return lambda stem: np.load(folder / f"{stem}.npy")


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory):
    """SynthSeg 2.0-shaped weights (seeded random) written in the published h5 layout."""
    path = tmp_path_factory.mktemp("synthseg") / "synthseg_2.0.h5"
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), path)
    return path
