"""Derivatives are stored under their BIDS names, atomically, with sidecars; volumes add up."""

import json

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from bids_app.interfaces.bids import DerivativesDataSink
from bids_app.interfaces.volumes import structure_volumes
from bids_app.participant import update_dseg_tsv
from bids_app.utils.lookup_table import LookupTableError


@pytest.fixture
def labels_image():
    data = np.zeros((20, 20, 20), dtype=np.int16)
    data[2:6, 2:6, 2:6] = 17
    data[10:12, 10:13, 10:14] = 53
    return nb.Nifti1Image(data, np.diag([1.0, 1.5, 2.0, 1.0]))


def test_volumes_use_the_voxel_size(labels_image):
    table = structure_volumes(labels_image).set_index("label")
    assert table.loc[17, "voxels"] == 64 and table.loc[17, "volume_mm3"] == pytest.approx(64 * 3.0)
    assert table.loc[53, "structure"] == "Right-Hippocampus"
    assert table.loc[53, "volume_mm3"] == pytest.approx(24 * 3.0)


def test_volumes_are_exact_on_a_rotated_grid(tmp_path):
    """Voxels times the voxel volume to 0.01 mm^3, with no float noise from the rotated affine's determinant."""
    data = np.zeros((30, 30, 30), dtype=np.int16)
    data.flat[:20000] = 17
    angle = np.deg2rad(8.0)
    affine = np.eye(4)
    affine[:3, :3] = [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    affine[:3, :3] = affine[:3, :3] @ np.diag([1.2, 1.0, 1.4])
    nb.Nifti1Image(data, affine).to_filename(tmp_path / "labels.nii.gz")
    table = structure_volumes(nb.load(tmp_path / "labels.nii.gz")).set_index("label")
    assert table.loc[17, "volume_mm3"] == 33600.0  # the determinant of the stored affine gives 33600.001
    table.to_csv(tmp_path / "volumes.tsv", sep="\t")
    assert "\t33600.0\n" in (tmp_path / "volumes.tsv").read_text()


def test_sink_writes_bids_name_and_sidecar_without_leftovers(tmp_path, labels_image):
    source = tmp_path / "bids/sub-01/ses-A/anat/sub-01_ses-A_run-1_T1w.nii.gz"
    in_file = tmp_path / "dseg.nii.gz"
    labels_image.to_filename(in_file)
    provenance = tmp_path / "provenance.json"
    provenance.write_text(json.dumps({"Engine": "meshnet"}))
    out = tmp_path / "out"
    result = DerivativesDataSink(base_directory=str(out), source_file=str(source), in_file=str(in_file),
                                 suffix="dseg", desc="meshnet", metadata={"Manual": False},
                                 metadata_files=[str(provenance)]).run()
    expected = out / "sub-01/ses-A/anat/sub-01_ses-A_run-1_desc-meshnet_dseg.nii.gz"
    assert result.outputs.out_file == str(expected)
    assert json.loads(expected.with_name(expected.name.replace(".nii.gz", ".json")).read_text()) == {
        "Engine": "meshnet", "Manual": False}
    assert sorted(p.name for p in expected.parent.iterdir()) == [
        "sub-01_ses-A_run-1_desc-meshnet_dseg.json", "sub-01_ses-A_run-1_desc-meshnet_dseg.nii.gz"]


def test_dseg_tsv_grows_with_each_run(tmp_path):
    update_dseg_tsv(tmp_path, [0, 10, 49])
    update_dseg_tsv(tmp_path, [17])
    table = pd.read_csv(tmp_path / "dseg.tsv", sep="\t")
    assert list(table.columns) == ["index", "name", "abbreviation", "color", "hemi"]
    assert list(table["index"]) == [0, 10, 17, 49]
    row = table.set_index("index").loc[49]
    assert (row["name"], row["abbreviation"], row["color"], row["hemi"]) == ("Right-Thalamus", "R-Thalamus",
                                                                            "#00760e", "R")


def test_each_desc_gets_the_table_of_its_own_model(tmp_path):
    """dseg.tsv is the union; desc-<desc>_dseg.tsv holds what one model writes (what the group level scores)."""
    update_dseg_tsv(tmp_path, [0, 10, 49, 3, 42], "meshnet")
    update_dseg_tsv(tmp_path, [0, 17, 53], "nnunet2")
    update_dseg_tsv(tmp_path, [0, 18], "nnunet2")

    def indices(name):
        return list(pd.read_csv(tmp_path / name, sep="\t")["index"])

    assert indices("dseg.tsv") == [0, 3, 10, 17, 18, 42, 49, 53]
    assert indices("desc-meshnet_dseg.tsv") == [0, 3, 10, 42, 49]
    assert indices("desc-nnunet2_dseg.tsv") == [0, 17, 18, 53]


@pytest.mark.parametrize("table", ["index\tname\nn/a\tLeft-Hippocampus\n", "label\tname\n17\tLeft-Hippocampus\n",
                                   "index\tname\n17\tLeft-Hippocampus\n1\xff\n"])
def test_a_damaged_lookup_table_is_refused_and_left_as_it_is(tmp_path, table):
    (tmp_path / "desc-meshnet_dseg.tsv").write_bytes(table.encode("latin-1"))
    with pytest.raises(LookupTableError, match=r"desc-meshnet_dseg.tsv: not a lookup table of label numbers"):
        update_dseg_tsv(tmp_path, [0, 17], "meshnet")
    assert (tmp_path / "desc-meshnet_dseg.tsv").read_bytes() == table.encode("latin-1")
