"""Finding T1w images with pybids and naming derivatives."""

import json

import pytest

from bids_app.utils.bids_io import (
    BIDSError,
    bids_uri,
    collect_t1w,
    derivative_path,
    write_bidsignore,
    write_dataset_description,
)
from bids_app.utils.sample_data import make_sample_dataset


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample_dataset(tmp_path_factory.mktemp("bids") / "bids")


def test_every_t1w_is_found(sample):
    names = [path.name for path in collect_t1w(sample)]
    assert names == ["sub-01_T1w.nii.gz", "sub-02_T1w.nii.gz", "sub-03_ses-1_T1w.nii.gz",
                     "sub-03_ses-2_acq-tilted_T1w.nii.gz"]


def test_participant_and_session_selection(sample):
    assert [p.name for p in collect_t1w(sample, ["03"], ["2"])] == ["sub-03_ses-2_acq-tilted_T1w.nii.gz"]


def test_unknown_participant_is_a_clear_error(sample):
    with pytest.raises(BIDSError, match="no participant sub-07"):
        collect_t1w(sample, ["07"])


def test_dataset_without_t1w_is_a_clear_error(tmp_path):
    (tmp_path / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.9.0"}))
    (tmp_path / "sub-01" / "anat").mkdir(parents=True)
    with pytest.raises(BIDSError, match="no T1w images found"):
        collect_t1w(tmp_path)


def test_folder_without_description_is_not_bids(tmp_path):
    with pytest.raises(BIDSError, match="not a BIDS dataset"):
        collect_t1w(tmp_path)


def test_derivative_names_keep_acq_and_run(sample):
    t1w = sample / "sub-03/ses-2/anat/sub-03_ses-2_acq-tilted_T1w.nii.gz"
    path = derivative_path("/out", t1w, desc="nnunet5", suffix="dseg", extension=".nii.gz")
    assert path.as_posix() == "/out/sub-03/ses-2/anat/sub-03_ses-2_acq-tilted_desc-nnunet5_dseg.nii.gz"
    assert bids_uri(t1w, sample) == "bids:raw:sub-03/ses-2/anat/sub-03_ses-2_acq-tilted_T1w.nii.gz"


def test_dataset_description_is_a_derivative(sample, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    description = json.loads(write_dataset_description(out, sample).read_text())
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "subseg"
    assert (out / description["DatasetLinks"]["raw"]).resolve() == sample.resolve()
    write_bidsignore(out)
    write_bidsignore(out)
    lines = (out / ".bidsignore").read_text().splitlines()
    assert len(lines) == len(set(lines)) and "logs/" in lines
