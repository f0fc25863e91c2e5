"""Bad input: grids that do not overlap, non-integer maps, labels too large for 32 bits, labels the table does not
know, a stray huge label among parcels to fold."""

from __future__ import annotations

import logging
import tracemalloc

import nibabel as nb
import numpy as np
import pytest

from bids_app.labels import fold_parcels
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


@pytest.mark.parametrize("dtype, label", [(np.int64, 2**32 + 17), (np.uint32, 2**32 - 1), (np.float64, 2.0**32 + 17)])
def test_labels_beyond_32_bits_are_refused_not_wrapped_onto_others(tmp_path, dtype, label):
    """2**32 + 17 would become 17 (Left-Hippocampus) in 32 bits, 2**32 - 1 would become -1."""
    path = tmp_path / "sub-01_desc-x_dseg.nii.gz"
    data = np.zeros((4, 4, 4), dtype)
    data[1, 1, 1], data[2, 2, 2] = 17, label
    nb.Nifti1Image(data, np.eye(4), dtype=dtype).to_filename(path)
    with pytest.raises(LabelMapError, match=f"sub-01_desc-x_dseg.nii.gz: label map holds label {int(label)}, "
                                            f"above 2147483647"):
        load_label_map(path)


def test_a_stray_huge_label_is_kept_and_costs_no_table_up_to_it_when_parcels_fold():
    """aparc+aseg parcels beside one voxel of label 2**26 (a corrupt map): the parcels fold into the cortex, the
    stray label stays as it is, and no lookup table of 2**26 entries (256 MB) is made."""
    data = np.zeros((8, 8, 8), np.int32)
    data[1, :, :], data[2, :, :], data[3, :, :], data[4, 4, 4] = 1035, 2035, 17, 2**26
    counts = label_counts(data)
    tracemalloc.start()  # NumPy's allocations are traced
    try:
        folded, record = fold_parcels(data, keep=[17], counts=counts)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = np.where(data == 1035, 3, np.where(data == 2035, 42, data))
    assert np.array_equal(folded, expected) and folded[4, 4, 4] == 2**26
    assert record == {1035: (3, 64), 2035: (42, 64)}
    assert peak < 2**20, f"{peak / 2**20:.0f} MiB allocated to fold 512 voxels"


def test_unknown_labels_are_named_in_a_warning(shared_data, caplog):
    path = shared_data / "synthseg" / "training_label_maps" / "training_seg_01.nii.gz"
    _, data = load_label_map(path)
    with caplog.at_level(logging.WARNING, logger="subseg"):
        labels = known_labels(label_counts(data), path)
    assert 17 in labels and 509 not in labels  # SynthSeg's generation labels beyond FreeSurferColorLUT
    assert "training_seg_01.nii.gz: labels unknown to the FreeSurfer table" in caplog.text and "509" in caplog.text
