"""The engine interface running the MeshNet engine."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np

from bids_app.interfaces.segment import Segment


def test_meshnet_segment_writes_labels_mask_and_provenance(shared_data, tmp_path):
    head = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz").slicer[104:152, 104:152, 104:152]
    in_file = tmp_path / "t1w.nii.gz"
    nb.Nifti1Image(np.asanyarray(head.dataobj), head.affine).to_filename(in_file)

    result = Segment(in_file=str(in_file), engine="meshnet", options={"parc": True}, device="cpu",
                     omp_nthreads=2).run(
        cwd=str(tmp_path)
    )

    outputs = result.outputs
    dseg, mask = nb.load(outputs.out_dseg), nb.load(outputs.out_brain_mask)
    for output in (dseg, mask):
        assert output.shape == head.shape
        np.testing.assert_allclose(output.affine, head.affine)
    provenance = json.loads(open(outputs.out_provenance).read())
    assert provenance["Engine"] == "meshnet" and provenance["Parc"] is True and provenance["Device"] == "cpu"
    assert not outputs.out_probseg
