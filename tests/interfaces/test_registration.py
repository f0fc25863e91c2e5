"""Affine alignment recovers a known head motion of a real scan (with a bias field), through the template."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from bids_app.interfaces.bias import N4BiasCorrection
from bids_app.interfaces.registration import TemplateRegistration
from bids_app.interfaces.transforms import lps_matrix, read_affine
from bids_app.utils.templates import NILEARN_TEMPLATE, get_template_file

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def register(path, folder):
    result = TemplateRegistration(in_file=str(path), template=NILEARN_TEMPLATE, omp_nthreads=2).run(cwd=str(folder))
    return lps_matrix(read_affine(result.outputs.xfm)), result.outputs


@pytest.mark.slow
def test_alignment_recovers_known_motion(shared_data, templateflow_home, tmp_path):
    scan = nb.load(shared_data / "niivue" / "norm.mgz")
    data = scan.get_fdata(dtype=np.float32)
    motion = np.eye(4)  # world (RAS) points of the head move from p to motion @ p
    motion[:3, :3] = Rotation.from_euler("xyz", [8.0, -6.0, 10.0], degrees=True).as_matrix()
    motion[:3, 3] = [7.0, -5.0, 9.0]
    voxel_map = np.linalg.inv(scan.affine) @ np.linalg.inv(motion) @ scan.affine
    moved = ndimage.affine_transform(data, voxel_map[:3, :3], voxel_map[:3, 3], order=1)
    x, y, z = (axis / (size / 2.0) - 1.0 for axis, size in zip(np.indices(data.shape, dtype=np.float32), data.shape))
    moved *= np.exp(0.25 * x - 0.2 * y * z + 0.15 * z**2)
    (tmp_path / "original").mkdir()
    (tmp_path / "moved").mkdir()
    original_file, moved_file = tmp_path / "original.nii.gz", tmp_path / "moved.nii.gz"
    nb.Nifti1Image(data, scan.affine).to_filename(original_file)
    nb.Nifti1Image(moved, scan.affine).to_filename(moved_file)
    corrected = N4BiasCorrection(in_file=str(moved_file), omp_nthreads=2).run(cwd=str(tmp_path / "moved"))

    to_original, _ = register(original_file, tmp_path / "original")
    to_moved, outputs = register(corrected.outputs.out_file, tmp_path / "moved")

    expected = RAS_TO_LPS @ motion @ RAS_TO_LPS @ to_original
    error = np.linalg.inv(expected) @ to_moved
    left, _, right = np.linalg.svd(error[:3, :3])
    angle = np.degrees(np.arccos(np.clip((np.trace(left @ right) - 1.0) / 2.0, -1.0, 1.0)))
    mask = nb.load(get_template_file(NILEARN_TEMPLATE, suffix="mask", desc="brain"))
    brain = np.c_[np.argwhere(np.asanyarray(mask.dataobj) > 0), np.ones(int((np.asanyarray(mask.dataobj) > 0).sum()))]
    points = brain @ (RAS_TO_LPS @ mask.affine).T
    displacement = np.linalg.norm((points @ expected.T - points @ to_moved.T)[:, :3], axis=1)
    assert angle < 2.0, f"rotation off by {angle:.2f} degrees"
    assert displacement.max() < 2.0, f"brain points off by up to {displacement.max():.2f} mm"
    assert outputs.provenance["Template"] == NILEARN_TEMPLATE
    assert outputs.provenance["Registration"]["Metric"] == "MattesMutualInformation"
    assert outputs.xfm.endswith(f"from-T1w_to-{NILEARN_TEMPLATE}_mode-image_xfm.txt")
