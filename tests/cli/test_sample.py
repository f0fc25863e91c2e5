"""``subseg sample OUT_DIR`` writes the packaged sample dataset, the same images as the pinned public sources."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.cli.run import main


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "bids"
    with pytest.raises(SystemExit) as exited:
        main(["sample", str(out)])
    assert exited.value.code == 0
    return out


def _data(path):
    return np.asanyarray(nb.load(path).dataobj)


def test_images_are_the_public_scans(written, shared_data):
    scan = np.load(shared_data / "voxelmorph" / "test_scan.npz")
    assert np.array_equal(_data(written / "sub-01/anat/sub-01_T1w.nii.gz"), scan["vol"].astype(np.float32))
    assert np.array_equal(_data(written / "sub-02/anat/sub-02_T1w.nii.gz"),
                          _data(shared_data / "niivue" / "norm.mgz"))
    head = nb.load(shared_data / "brainchop" / "t1_crop.nii.gz")
    written_head = nb.load(written / "sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz")
    assert np.array_equal(np.asanyarray(written_head.dataobj), np.asanyarray(head.dataobj))
    assert np.array_equal(written_head.affine, head.affine)
    assert nb.load(written / "sub-03/ses-2/anat/sub-03_ses-2_acq-tilted_T1w.nii.gz").header.get_zooms() == (
        pytest.approx(1.2), pytest.approx(1.0), pytest.approx(1.4))


def test_references_are_the_public_labels_with_cortex_merged(written, shared_data):
    scan = np.load(shared_data / "voxelmorph" / "test_scan.npz")
    reference = _data(written / "derivatives/reference/sub-01/anat/sub-01_desc-aseg_dseg.nii.gz")
    seg = scan["seg"].astype(np.int32)
    kept = np.isin(seg, [10, 11, 12, 13, 17, 18, 26, 49, 50, 51, 52, 53, 54, 58])
    assert np.array_equal(reference[kept], seg[kept])
    aparc = _data(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    reference = _data(written / "derivatives/reference/sub-02/anat/sub-02_desc-aseg_dseg.nii.gz")
    assert set(np.unique(reference[(aparc >= 11100) & (aparc < 12000)])) == {3}
    assert set(np.unique(reference[(aparc >= 12100) & (aparc < 13000)])) == {42}
    description = json.loads((written / "derivatives/reference/dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"


def test_each_source_comes_with_its_licence(written):
    for origin, licence in (("voxelmorph", "Apache License"), ("niivue", "BSD"), ("brainchop", "MIT")):
        assert licence in (written / "sourcedata" / origin / "LICENSE").read_text()
        assert (written / "sourcedata" / origin / "SOURCE.md").is_file()


def test_existing_folder_is_refused_in_one_line(written, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["sample", str(written)])
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "already exists" in error
