"""Bad input: grids that do not overlap, non-integer maps, labels the table does not know."""

from __future__ import annotations

import logging

import nibabel as nb
import numpy as np
import pytest

from bids_app.metrics.label_maps import LabelMapError, align_prediction, known_labels, load_label_map
from bids_app.utils.label_counts import label_counts


@pytest.fixture(scope="module")
def aseg_image(shared_data):
    return nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")


def test_fields_of_view_that_do_not_overlap_are_refused(aseg_image, tmp_path):
    data = np.asarray(aseg_image.dataobj).astype(np.int16)
    reference = nb.Nifti1Image(data, aseg_image.affine)
    moved = aseg_image.affine.copy()
    moved[:3, 3] += 500.0
    with pytest.raises(LabelMapError, match="field of view does not overlap"):
        align_prediction(nb.Nifti1Image(data, moved), reference, tmp_path / "pred.nii.gz")


def test_non_integer_label_map_is_refused(tmp_path):
    path = tmp_path / "sub-01_desc-x_dseg.nii.gz"
    nb.Nifti1Image(np.full((4, 4, 4), 1.5, np.float32), np.eye(4)).to_filename(path)
    with pytest.raises(LabelMapError, match="sub-01_desc-x_dseg.nii.gz: label map holds non-integer values"):
        load_label_map(path)


def test_unknown_labels_are_named_in_a_warning(shared_data, caplog):
    path = shared_data / "synthseg" / "training_label_maps" / "training_seg_01.nii.gz"
    _, data = load_label_map(path)
    with caplog.at_level(logging.WARNING, logger="subseg"):
        labels = known_labels(label_counts(data), path)
    assert 17 in labels and 509 not in labels  # SynthSeg's generation labels beyond FreeSurferColorLUT
    assert "training_seg_01.nii.gz: labels unknown to the FreeSurfer table" in caplog.text and "509" in caplog.text
