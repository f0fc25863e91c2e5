"""Every segmentation is checked before it is called done: structures present, volumes, sides, brain size."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.interfaces.plausibility import CheckPlausibility, expected_structures, plausibility_flags
from bids_app.labels import SUBCORTICAL


@pytest.fixture(scope="module")
def aseg(shared_data) -> nb.Nifti1Image:
    """fsaverage's FreeSurfer aseg: a real, correct whole-brain labelling (1 mm, LIA)."""
    image = nb.load(shared_data / "fsaverage" / "aseg.mgz")
    return nb.Nifti1Image(np.asanyarray(image.dataobj).astype(np.int16), image.affine)


def test_a_real_segmentation_passes(aseg):
    assert plausibility_flags(aseg, expected_structures()) == []


def test_mirrored_labels_are_flagged_as_swapped(aseg):
    """The same labels with a left-right flipped affine: every Left structure now lies on the right."""
    mirrored = nb.Nifti1Image(np.asanyarray(aseg.dataobj), np.diag([-1.0, 1, 1, 1]) @ aseg.affine)
    flags = plausibility_flags(mirrored, expected_structures())
    assert len(flags) == 8 and all("Left and Right swapped?" in flag for flag in flags)
    assert any(flag.startswith("Left-Hippocampus (x=") for flag in flags)


def test_missing_structure_and_implausible_volume_are_flagged(aseg):
    data = np.asanyarray(aseg.dataobj).copy()
    data[data == 17] = 0  # no left hippocampus
    data[data == 13] = 12  # left pallidum labelled as putamen
    flags = plausibility_flags(nb.Nifti1Image(data, aseg.affine), expected_structures())
    assert "expected structures missing: Left-Pallidum, Left-Hippocampus" in flags


def test_empty_segmentation_of_a_tiny_image_is_flagged(aseg):
    empty = nb.Nifti1Image(np.zeros((8, 8, 8), dtype=np.int16), np.eye(4))
    flags = plausibility_flags(empty, expected_structures())
    assert flags == ["expected structures missing: " + ", ".join(
        name for name in ("Left-Thalamus", "Left-Caudate", "Left-Putamen", "Left-Pallidum", "Left-Hippocampus",
                          "Left-Amygdala", "Left-Accumbens-area", "Left-VentralDC", "Right-Thalamus",
                          "Right-Caudate", "Right-Putamen", "Right-Pallidum", "Right-Hippocampus",
                          "Right-Amygdala", "Right-Accumbens-area", "Right-VentralDC"))]


def test_volume_out_of_bounds_and_small_brain_are_flagged(aseg):
    """The aseg on a grid of 0.5 mm voxels: every volume an eighth of the real one."""
    shrunk = nb.Nifti1Image(np.asanyarray(aseg.dataobj), aseg.affine @ np.diag([0.5, 0.5, 0.5, 1.0]))
    flags = plausibility_flags(shrunk, expected_structures())
    assert any(flag.startswith("Left-Thalamus volume") and "outside 2500 to 15000 mm3" in flag for flag in flags)
    assert any(flag.startswith("brain volume") and "outside 600 to 2200 ml" in flag for flag in flags)
    assert "np." not in " ".join(flags)


def test_nnunet_models_are_held_to_their_own_labels():
    assert expected_structures([10, 49, 17, 53, 4, 43]) == [10, 49, 17, 53]
    assert expected_structures(None) == list(SUBCORTICAL)


def test_interface_records_the_flags_for_the_sidecar(aseg, tmp_path):
    path = tmp_path / "dseg.nii.gz"
    nb.Nifti1Image(np.asanyarray(aseg.dataobj), np.diag([-1.0, 1, 1, 1]) @ aseg.affine).to_filename(path)
    result = CheckPlausibility(in_file=str(path), expected_labels=expected_structures()).run(cwd=str(tmp_path))
    assert result.outputs.fields == {"QualityFlags": result.outputs.flags} and len(result.outputs.flags) == 8


def test_interface_flags_an_image_without_zero_background(aseg, tmp_path):
    """An engine's ``ZeroBackground`` field, flagged, becomes one more QualityFlags sentence."""
    import json

    from bids_app.utils.zero_background import zero_background

    path, provenance = tmp_path / "dseg.nii.gz", tmp_path / "provenance.json"
    aseg.to_filename(path)
    provenance.write_text(json.dumps({"ZeroBackground": zero_background(np.ones((4, 4, 4)))}))
    result = CheckPlausibility(in_file=str(path), expected_labels=expected_structures(),
                               provenance=str(provenance)).run(cwd=str(tmp_path))
    assert len(result.outputs.flags) == 1 and "exactly zero" in result.outputs.flags[0]


@pytest.mark.slow
def test_implausible_segmentation_is_kept_flagged_and_fails_the_run(sample_bids, tmp_path):
    """The top 64 mm of a head (above the basal ganglia) through MeshNet: outputs kept, flagged, exit 1."""
    import json
    import shutil
    import subprocess
    import sys

    bids = tmp_path / "bids"
    (bids / "sub-09" / "anat").mkdir(parents=True)
    shutil.copyfile(sample_bids / "dataset_description.json", bids / "dataset_description.json")
    head = nb.load(sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz")  # LIA: axis 1 runs down
    top = nb.Nifti1Image(np.asanyarray(head.dataobj)[:, :64, :], head.affine, head.header)
    top.to_filename(bids / "sub-09" / "anat" / "sub-09_T1w.nii.gz")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "bids_app", bids, out, "participant", "-w", tmp_path / "work",
                             "--omp-nthreads", "2", "--no-tta"], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "sub-09_T1w.nii.gz: segmentation kept but flagged as implausible: expected structures missing" in \
        result.stderr
    assert "1 image(s) failed plausibility checks" in result.stderr
    dseg = out / "sub-09" / "anat" / "sub-09_desc-meshnet_dseg.nii.gz"
    assert dseg.is_file()
    flags = json.loads(dseg.with_name("sub-09_desc-meshnet_dseg.json").read_text())["QualityFlags"]
    assert flags and flags[0].startswith("expected structures missing")
    report = (out / "sub-09" / "figures" / "sub-09_desc-meshnet_report.html").read_text()
    assert "Quality flags: this segmentation failed" in report
    rerun = subprocess.run([sys.executable, "-m", "bids_app", bids, out, "participant", "-w", tmp_path / "work",
                            "--no-tta"],
                           capture_output=True, text=True)
    assert rerun.returncode == 1 and "up to date, kept" in rerun.stderr  # still counted as a failure
