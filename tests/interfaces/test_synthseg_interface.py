"""The engine interface running SynthSeg writes labels, provenance and posteriors in its working directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines" / "synthseg"))
from synthseg_keras_reference import save_torch_in_published_layout  # noqa: E402

from bids_app.engines.synthseg.network import SynthSegNetwork  # noqa: E402
from bids_app.interfaces.segment import Segment  # noqa: E402


def test_interface_runs_on_real_t1w(shared_data, tmp_path, monkeypatch):
    weights = tmp_path / "synthseg_2.0.h5"
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), weights)
    norm = nb.load(shared_data / "niivue" / "norm.mgz")
    t1w = nb.Nifti1Image(np.asarray(norm.dataobj), norm.affine).slicer[96:160, 96:160, 96:160]
    t1w.to_filename(tmp_path / "t1w.nii.gz")
    monkeypatch.chdir(tmp_path)
    result = Segment(in_file=str(tmp_path / "t1w.nii.gz"), engine="synthseg",
                     options={"synthseg_model": str(weights), "fast": True, "crop": 64}, device="cpu",
                     write_probseg=True).run()
    labels = nb.load(result.outputs.out_dseg)
    assert labels.shape == (64, 64, 64) and np.allclose(labels.affine, t1w.affine)
    provenance = json.loads(Path(result.outputs.out_provenance).read_text())
    assert provenance["Engine"] == "synthseg" and provenance["Options"]["qc"] is False
    assert len(result.outputs.out_probseg) == 33 and 17 in result.outputs.out_probseg_labels
