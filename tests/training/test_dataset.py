"""The nnU-Net raw dataset writer: RAS images, consecutive labels, FreeSurfer names in dataset.json."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.labels import LABELS
from bids_app.training.dataset import TrainingCase, label_table, remap_labels, write_raw_dataset


def _lia_pair(shape=(6, 7, 8)):
    """A small LIA image and a FreeSurfer label map on its grid, with a voxel-unique intensity."""
    affine = np.array([[-1.0, 0, 0, 3], [0, 0, 1, -4], [0, -1, 0, 5], [0, 0, 0, 1]])
    image = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    labels = np.zeros(shape, dtype=np.int16)
    labels[1, 2, 3] = 10   # Left-Thalamus
    labels[4, 5, 6] = 49   # Right-Thalamus
    labels[2, 2, 2] = 2    # Left-Cerebral-White-Matter: not learned, becomes background
    return nb.Nifti1Image(image, affine), nb.Nifti1Image(labels, affine)


def test_label_table_is_consecutive_in_freesurfer_order_with_freesurfer_names():
    table = label_table([53, 10, 4, 49])
    assert list(table.values()) == [0, 1, 2, 3, 4]
    assert list(table) == ["background"] + [LABELS[i].name for i in (4, 10, 49, 53)]


def test_label_table_rejects_unknown_numbers():
    with pytest.raises(ValueError, match="99999"):
        label_table([10, 99999])


def test_remap_drops_labels_not_in_the_table():
    table = label_table([10, 49])
    out = remap_labels(np.array([0, 10, 49, 2, 17]), table)
    assert out.tolist() == [0, 1, 2, 0, 0]


def test_written_dataset_is_ras_with_labels_following_their_voxels(tmp_path):
    image, labels = _lia_pair()
    folder = write_raw_dataset([TrainingCase("case01", image, labels)], tmp_path, 7, "Tiny", [10, 49])

    assert folder.name == "Dataset007_Tiny"
    description = json.loads((folder / "dataset.json").read_text())
    assert description["labels"] == {"background": 0, LABELS[10].name: 1, LABELS[49].name: 2}
    assert description["numTraining"] == 1 and description["file_ending"] == ".nii.gz"

    written_image = nb.load(folder / "imagesTr" / "case01_0000.nii.gz")
    written_labels = nb.load(folder / "labelsTr" / "case01.nii.gz")
    assert nb.aff2axcodes(written_image.affine) == ("R", "A", "S")
    assert np.allclose(written_image.affine, written_labels.affine)
    # Each label still sits on the voxel with the same intensity (the same world position).
    data, seg = written_image.get_fdata(), np.asanyarray(written_labels.dataobj)
    original = np.asanyarray(image.dataobj)
    for index, value in ((10, 1), (49, 2)):
        source = tuple(np.argwhere(np.asanyarray(labels.dataobj) == index)[0])
        target = tuple(np.argwhere(seg == value)[0])
        assert data[target] == original[source]
        assert np.allclose(written_image.affine @ [*target, 1], image.affine @ [*source, 1])
    assert set(np.unique(seg)) == {0, 1, 2}


def test_labels_off_the_image_grid_are_refused(tmp_path):
    image, labels = _lia_pair()
    shifted = nb.Nifti1Image(np.asanyarray(labels.dataobj), labels.affine @ np.diag([1, 1, 2, 1]))
    with pytest.raises(ValueError, match="case01.*not on the grid"):
        write_raw_dataset([TrainingCase("case01", image, shifted)], tmp_path, 7, "Tiny", [10, 49])


def test_freesurfer_parcels_are_learned_as_the_cortex_they_subdivide(shared_data, tmp_path):
    """niivue's real aparc.a2009s+aseg: Destrieux parcels become Left/Right-Cerebral-Cortex, listed in dataset.json."""
    labels = nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    labels = nb.Nifti1Image(np.asanyarray(labels.dataobj).astype(np.int16), labels.affine)
    labels = labels.slicer[64:192, 64:192, 96:160]
    image = nb.Nifti1Image(np.ones(labels.shape, np.float32), labels.affine)
    parcels = np.asanyarray(labels.dataobj)
    folder = write_raw_dataset([TrainingCase("sub-02", image, labels)], tmp_path, 501, "Test", [3, 17, 42])
    written = np.asanyarray(nb.load(folder / "labelsTr" / "sub-02.nii.gz").dataobj)
    table = json.loads((folder / "dataset.json").read_text())
    left, right = table["labels"]["Left-Cerebral-Cortex"], table["labels"]["Right-Cerebral-Cortex"]
    expected_left = np.count_nonzero((parcels == 3) | ((parcels >= 11100) & (parcels < 12100)))
    assert np.count_nonzero(written == left) == expected_left > np.count_nonzero(parcels == 3)
    assert np.count_nonzero(written == right) == np.count_nonzero(
        (parcels == 42) | ((parcels >= 12100) & (parcels < 13100)))
    folded = table["subseg_folded_parcels"]
    assert sorted(folded) == ["Left-Cerebral-Cortex", "Right-Cerebral-Cortex"]
    assert folded["Left-Cerebral-Cortex"] == sorted(int(p) for p in np.unique(parcels) if 11100 <= p < 12100)
    assert folded["Right-Cerebral-Cortex"] == sorted(int(p) for p in np.unique(parcels) if 12100 <= p < 13100)
