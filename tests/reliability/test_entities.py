"""Every BIDS entity of an input is kept in its output names; inputs that would share one are refused."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bids_app.utils.bids_io import BIDSError, check_distinct_outputs, collect_t1w, derivative_path


@pytest.fixture
def multi_echo_bids(sample_bids, tmp_path):
    """sub-07 with two echoes, inversions, parts and MT of one real T1w (the sample dataset's sub-01)."""
    bids = tmp_path / "bids"
    (bids / "sub-07" / "anat").mkdir(parents=True)
    shutil.copyfile(sample_bids / "dataset_description.json", bids / "dataset_description.json")
    t1w = sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz"
    for entities in ("echo-1", "echo-2", "inv-1_part-mag", "inv-1_part-phase", "mt-on", "mt-off",
                     "acq-mp2rage_rec-norm_run-1", "flip-2", "task-rest_dir-AP_chunk-1"):
        shutil.copyfile(t1w, bids / "sub-07" / "anat" / f"sub-07_{entities}_T1w.nii.gz")
    return bids


def test_every_entity_is_kept_in_the_output_name(multi_echo_bids, tmp_path):
    """Without validation (``--skip-bids-validation``), as the validator drops entities T1w does not list."""
    t1w_files = collect_t1w(multi_echo_bids, validate=False)
    assert len(t1w_files) == 9
    names = {derivative_path(tmp_path, t1w, desc="meshnet", suffix="dseg", extension=".nii.gz").name: t1w.name
             for t1w in t1w_files}
    assert len(names) == 9
    for output, source in names.items():
        assert output == source.replace("_T1w.nii.gz", "_desc-meshnet_dseg.nii.gz")
    check_distinct_outputs(t1w_files, tmp_path, "meshnet")


def test_two_inputs_with_one_output_name_are_refused_before_anything_runs(multi_echo_bids, tmp_path):
    anat = multi_echo_bids / "sub-07" / "anat"
    shutil.copyfile(anat / "sub-07_echo-1_T1w.nii.gz", anat / "sub-07_echo-1_T1w.nii")  # same entities
    with pytest.raises(BIDSError, match="would both be written as sub-07_echo-1_desc-meshnet_dseg.nii.gz"):
        check_distinct_outputs(collect_t1w(multi_echo_bids, validate=False), tmp_path, "meshnet")
    out, work = tmp_path / "out", tmp_path / "work"
    result = subprocess.run([sys.executable, "-m", "bids_app", multi_echo_bids, out, "participant", "-w", work,
                             "--skip-bids-validation"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "would both be written as" in errors[0] and "Traceback" not in result.stderr
    assert not list(out.glob("sub-*")) and not (work / "subseg_meshnet_wf").exists()
