"""The group level isolates failures per file, scores empty predictions, and fails writes with one line."""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from bids_app.labels import SUBCORTICAL


def _derivatives(root, name):
    root.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "derivative", "GeneratedBy": [{"Name": name}]}))
    return root


def _save(data, affine, root, subject, desc, dtype=np.int16):
    path = root / f"sub-{subject}" / "anat" / f"sub-{subject}_desc-{desc}_dseg.nii.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    nb.Nifti1Image(np.asarray(data).astype(dtype), affine).to_filename(path)
    return path


@pytest.fixture
def folders(shared_data, tmp_path):
    """Another tool's predictions (no dseg.tsv) for six subjects, five of them broken, and their references."""
    image = nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")
    aseg = np.asarray(image.dataobj).astype(np.int32)
    subcortical = np.where(np.isin(aseg, SUBCORTICAL), aseg, 0)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dataset_description.json").write_text(json.dumps({"Name": "Faults", "BIDSVersion": "1.8.0"}))
    out, ref = _derivatives(tmp_path / "out", "other"), _derivatives(tmp_path / "ref", "freesurfer")
    for subject in ("01", "02", "03", "04", "05", "06"):
        _save(aseg, image.affine, ref, subject, "aseg")
    _save(subcortical, image.affine, out, "01", "tool")  # good
    _save(np.where(subcortical > 0, np.nan, 0), image.affine, out, "02", "tool", np.float32)
    _save(subcortical + 0.5 * (subcortical > 0), image.affine, out, "03", "tool", np.float32)
    shifted = image.affine.copy()
    shifted[:3, 3] += 1000.0
    _save(subcortical, shifted, out, "04", "tool")  # misses the reference's field of view
    truncated = _save(subcortical, image.affine, out, "05", "tool")
    truncated.write_bytes(truncated.read_bytes()[:5000])
    _save(np.zeros_like(subcortical), image.affine, out, "06", "tool")  # no labels at all
    return raw, out, ref


def run_group_cli(raw, out, ref, *extra):
    return subprocess.run([sys.executable, "-m", "bids_app", raw, out, "group", "--reference-dir", ref,
                           "--reference-desc", "aseg", *extra], capture_output=True, text=True)


def test_each_bad_prediction_fails_alone_with_one_line(folders):
    raw, out, ref = folders
    result = run_group_cli(raw, out, ref)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    for subject, problem in {"02": "NaN", "03": "non-integer", "04": "field of view does not overlap",
                             "05": "unreadable label map"}.items():
        matching = [line for line in errors if f"sub-{subject}_desc-tool_dseg.nii.gz" in line]
        assert len(matching) == 1 and problem in matching[0], result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("subseg: error: 4 of 6 label map(s) could not be scored")
    metrics = pd.read_csv(out / "group" / "metrics.tsv", sep="\t", dtype={"subject": str})
    assert set(metrics["subject"]) == {"01", "06"}
    dice = metrics[metrics["metric"] == "dice"].set_index(["subject", "label"])["value"]
    assert (dice.loc["01"] == 1.0).all()
    empty = dice.loc["06"]  # scored as empty against every structure of its reference
    assert set(SUBCORTICAL) <= set(empty.index) and (empty.loc[list(SUBCORTICAL)] == 0).all()


def test_unwritable_group_folder_is_one_line(folders):
    """``group`` taken by a file: the reports cannot be written (as on a read-only or full disk)."""
    raw, out, ref = folders
    (out / "group").write_text("not a folder")
    result = run_group_cli(raw, out, ref, "--participant-label", "01")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"subseg: error: {out / 'group'}: cannot write the group reports")
