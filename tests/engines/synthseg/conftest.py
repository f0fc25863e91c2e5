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
def random_weights(tmp_path_factory):
    """SynthSeg 2.0-shaped weights (seeded random) written in the published h5 layout."""
    path = tmp_path_factory.mktemp("synthseg") / "synthseg_2.0.h5"
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), path)
    return path
