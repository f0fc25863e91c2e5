"""Change over sessions from real label maps (fsaverage's 2 mm aseg): the table, the group hook and its report."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from configs import group_config

from bids_app.group import run_group
from bids_app.metrics.longitudinal import repeat_noise, session_times, volume_change
from tests.reports.chromium_helpers import open_report

#: Days between the two sessions of each subject.
_DAYS = {"01": 730, "02": 365}


def _label_map(data, affine, root, subject, session, run, desc="synthseg"):
    folder = root / f"sub-{subject}" / f"ses-{session}" / "anat"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"sub-{subject}_ses-{session}_run-{run}_desc-{desc}_dseg.nii.gz"
    nb.Nifti1Image(data.astype(np.int16), affine).to_filename(folder / name)


def _repeat_scan(labels: np.ndarray) -> np.ndarray:
    """The label map of a repeat scan: a tenth of each structure's border voxels (fixed at random) lost."""
    border = (labels > 0) & (ndimage.grey_erosion(labels, size=3) != ndimage.grey_dilation(labels, size=3))
    lost = border & (np.random.default_rng(7).random(labels.shape) < 0.1)
    return np.where(lost, 0, labels)


@pytest.fixture(scope="module")
def study(shared_data, tmp_path_factory):
    """Two subjects, two sessions, two repeat runs each; sub-01's left hippocampus shrinks by one voxel layer."""
    root = tmp_path_factory.mktemp("longitudinal")
    image = nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")
    aseg = np.asarray(image.dataobj).astype(np.int32)
    raw, out = root / "raw", root / "out"
    for folder, kind in ((raw, None), (out, "derivative")):
        folder.mkdir()
        description = {"Name": "sessions", "BIDSVersion": "1.8.0", **({"DatasetType": kind} if kind else {})}
        (folder / "dataset_description.json").write_text(json.dumps(description))
    shrunk = aseg.copy()
    hippocampus = aseg == 17
    shrunk[hippocampus & ~ndimage.binary_erosion(hippocampus)] = 0
    for subject, later in (("01", shrunk), ("02", aseg)):
        (raw / f"sub-{subject}").mkdir()
        (raw / f"sub-{subject}" / f"sub-{subject}_sessions.tsv").write_text(
            "session_id\tacq_time\nses-1\t2020-03-01T10:00:00\n"
            f"ses-2\t{(pd.Timestamp('2020-03-01T10:00:00') + pd.Timedelta(days=_DAYS[subject])).isoformat()}\n")
        for session, labels in (("1", aseg), ("2", later)):
            _label_map(labels, image.affine, out, subject, session, "1")
            _label_map(_repeat_scan(labels), image.affine, out, subject, session, "2")
    return raw, out


def test_session_times_read_acq_time(study):
    raw, _ = study
    times = session_times(raw, ["01", "02"])
    assert (times[("01", "2")] - times[("01", "1")]).days == 730


def test_change_marks_the_shrinking_hippocampus_only(study):
    raw, out = study
    run_group(group_config(bids_dir=raw, output_dir=out, descs=None, reference_dir=None, reference_desc=None,
                           participant_labels=None))
    change = pd.read_csv(out / "group" / "longitudinal.tsv", sep="\t", dtype={"subject": str, "session": str})
    volumes = pd.read_csv(out / "group" / "volumes.tsv", sep="\t", dtype={"subject": str, "session": str})
    assert len(change) == 2 * volumes["label"].nunique()  # two subjects x every label, one later session each
    hippocampus = change[(change["subject"] == "01") & (change["label"] == 17)].iloc[0]
    sessions = volumes[(volumes["subject"] == "01") & (volumes["label"] == 17)].groupby("session")["volume_mm3"]
    expected = 100 * (sessions.mean()["2"] - sessions.mean()["1"]) / sessions.mean()["1"]
    assert hippocampus["change_pct"] == pytest.approx(expected)
    assert hippocampus["change_pct_per_year"] == pytest.approx(expected / (730 / 365.25))
    assert hippocampus["change_pct"] < -20 and bool(hippocampus["beyond_noise"])
    unchanged = change[(change["label"] != 17) | (change["subject"] == "02")]
    assert (unchanged["change_mm3"] == 0).all() and not unchanged["beyond_noise"].astype(bool).any()
    assert 0 < hippocampus["repeat_noise_pct"] < abs(hippocampus["change_pct"])
    noise = repeat_noise(volumes)
    assert noise[17] > 0 and hippocampus["repeat_noise_pct"] == pytest.approx(noise[17])


def test_no_change_table_without_sessions():
    volumes = pd.DataFrame({"subject": "01", "session": "", "acquisition": "", "reconstruction": "", "run": "",
                            "desc": "x", "structure": "Left-Hippocampus", "label": 17, "volume_mm3": [4000.0]})
    assert volume_change(volumes, {}).empty


def test_group_report_shows_change_in_chromium(study, tmp_path):
    raw, out = study
    if not (out / "group" / "report.html").is_file():
        run_group(group_config(bids_dir=raw, output_dir=out, descs=None, reference_dir=None, reference_desc=None,
                               participant_labels=None))
    page = (out / "group" / "report.html").read_text()
    assert "<h2>Change over sessions</h2>" in page and "exceed the repeat-scan noise" in page
    shown = open_report(out / "group" / "report.html", tmp_path)
    assert shown.console_errors == []
    figure = [image for image in shown.images if image["alt"] == "change over sessions"]
    assert figure and figure[0]["distinct"] > 50 and figure[0]["height"] > 1000
