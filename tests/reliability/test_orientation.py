"""Orientation is never guessed: a header with no affine set is refused, disagreeing affines are settled."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.interfaces.validation import InvalidImageError, ValidateT1w, check_t1w
from bids_app.workflows.outputs import init_ds_dseg_wf


@pytest.fixture
def scan(shared_data) -> np.ndarray:
    """A real T1w (voxelmorph's test scan, 1 mm), cut to 96 mm cubes."""
    return np.load(shared_data / "voxelmorph" / "test_scan.npz")["vol"][40:136, 60:156, 60:156].astype(np.float32)


def _save(path, data, qform=None, qform_code=0, sform=None, sform_code=0):
    image = nb.Nifti1Image(data, None)
    image.header.set_qform(qform, qform_code)
    image.header.set_sform(sform, sform_code)
    image.to_filename(path)
    return path


RAS = np.array([[1.0, 0, 0, -48], [0, 1, 0, -60], [0, 0, 1, -40], [0, 0, 0, 1]])
LAS = np.diag([-1.0, 1, 1, 1]) @ RAS  # the same grid with Left and Right swapped


def test_both_codes_zero_is_refused_with_how_to_fix(tmp_path, scan):
    path = _save(tmp_path / "sub-01_T1w.nii.gz", scan, qform=RAS, sform=RAS)  # matrices present, codes 0
    with pytest.raises(InvalidImageError) as caught:
        check_t1w(str(path))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "qform_code and sform_code are both 0" in message and "dcm2niix" in message


def test_disagreeing_affines_keep_the_sform_and_say_so(tmp_path, scan):
    """As fMRIPrep's ValidateImage: a valid sform wins, is copied to the qform, and the change is recorded."""
    path = _save(tmp_path / "sub-01_T1w.nii.gz", scan, qform=LAS, qform_code=1, sform=RAS, sform_code=1)
    assert nb.aff2axcodes(nb.load(path).header.get_qform()) != nb.aff2axcodes(nb.load(path).affine)
    node = ValidateT1w(in_file=str(path))
    result = node.run(cwd=str(tmp_path))
    fixed = nb.load(result.outputs.out_file)
    np.testing.assert_allclose(fixed.header.get_qform(), RAS, atol=1e-5)
    np.testing.assert_allclose(fixed.header.get_sform(), RAS, atol=1e-5)
    assert int(fixed.header["qform_code"]) == int(fixed.header["sform_code"]) == 1
    np.testing.assert_array_equal(np.asanyarray(fixed.dataobj), scan)
    note = result.outputs.header["HeaderOrientation"]
    assert "opposite handedness" in note and "qform LAS, sform RAS" in note and "sform was kept" in note


def test_qform_alone_is_copied_to_the_sform(tmp_path, scan):
    path = _save(tmp_path / "sub-01_T1w.nii.gz", scan, qform=LAS, qform_code=1)
    result = ValidateT1w(in_file=str(path)).run(cwd=str(tmp_path))
    fixed = nb.load(result.outputs.out_file)
    np.testing.assert_allclose(fixed.header.get_sform(), LAS, atol=1e-5)
    assert int(fixed.header["sform_code"]) == 1
    assert result.outputs.header == {"HeaderOrientation": "sform_code was 0: the sform was set from the qform"}


def test_agreeing_affines_pass_unchanged(tmp_path, scan):
    path = _save(tmp_path / "sub-01_T1w.nii.gz", scan, qform=RAS, qform_code=1, sform=RAS, sform_code=1)
    result = ValidateT1w(in_file=str(path)).run(cwd=str(tmp_path))
    assert result.outputs.out_file == str(path) and result.outputs.header == {}


def test_the_header_change_is_recorded_in_the_sidecar(tmp_path, scan):
    """The outputs workflow writes the change into the label map's sidecar beside the engine's provenance."""
    source = tmp_path / "bids/sub-01/anat/sub-01_T1w.nii.gz"
    dseg = tmp_path / "dseg.nii.gz"
    nb.Nifti1Image((scan > scan.mean()).astype(np.int16) * 17, RAS).to_filename(dseg)
    provenance = tmp_path / "provenance.json"
    provenance.write_text(json.dumps({"Engine": "meshnet"}))
    workflow = init_ds_dseg_wf(output_dir=str(tmp_path / "out"), desc="meshnet", metadata={"Manual": False})
    workflow.base_dir = str(tmp_path / "work")
    for name, value in dict(source_file=str(source), dseg=str(dseg), provenance=str(provenance),
                            preprocessing={}, volumes=str(provenance), figure=str(provenance),
                            report=str(provenance),
                            header={"HeaderOrientation": "sform_code was 0: the sform was set from the qform"}
                            ).items():
        setattr(workflow.inputs.inputnode, name, value)
    workflow.run(plugin="Linear")
    sidecar = json.loads((tmp_path / "out/sub-01/anat/sub-01_desc-meshnet_dseg.json").read_text())
    assert sidecar == {"Manual": False, "Engine": "meshnet",
                       "HeaderOrientation": "sform_code was 0: the sform was set from the qform"}


@pytest.mark.parametrize("shape, zooms", [((8, 8, 8), (1.0, 1.0, 1.0)), ((96, 96, 40), (1.0, 1.0, 1.0)),
                                          ((40, 40, 40), (1.2, 1.2, 1.2))])
def test_images_too_small_to_hold_a_head_are_refused(tmp_path, scan, shape, zooms):
    affine = np.diag([*zooms, 1.0])
    path = _save(tmp_path / "sub-01_T1w.nii.gz", scan[: shape[0], : shape[1], : shape[2]], qform=affine,
                 qform_code=1, sform=affine, sform_code=1)
    with pytest.raises(InvalidImageError, match="too small to hold a head") as caught:
        check_t1w(str(path))
    assert "np." not in str(caught.value)
