"""Bad T1w images are refused with one line naming the file and the problem."""

import gzip
import shutil

import nibabel as nb
import numpy as np
import pytest

from bids_app.interfaces.validation import InvalidImageError, check_t1w


def _save(tmp_path, data, zooms=(1.0, 1.0, 1.0), name="sub-01_T1w.nii.gz"):
    path = tmp_path / name
    image = nb.Nifti1Image(np.asarray(data), np.diag([*zooms, 1.0]))
    image.to_filename(path)
    return path


@pytest.fixture
def brain(shared_data):
    """A real T1w, cut small."""
    return np.load(shared_data / "voxelmorph" / "test_scan.npz")["vol"][40:100, 60:120, 80:140].astype(np.float32)


def test_a_real_t1w_passes(tmp_path, brain):
    image = check_t1w(str(_save(tmp_path, brain)))
    assert image.shape == brain.shape


def test_singleton_fourth_axis_is_dropped(tmp_path, brain):
    assert check_t1w(str(_save(tmp_path, brain[..., None]))).shape == brain.shape


@pytest.mark.parametrize("make, problem", [
    (lambda b: np.stack([b, b], axis=-1), "4D image"),
    (lambda b: np.zeros_like(b), "same value"),
    (lambda b: np.where(b > 0.5, np.nan, b), "NaN"),
    (lambda b: b[:, :, :4], "too small"),
])
def test_bad_content_is_refused(tmp_path, brain, make, problem):
    path = _save(tmp_path, make(brain))
    with pytest.raises(InvalidImageError, match=problem) as error:
        check_t1w(str(path))
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("zooms", [(1.0, 1.0, 40.0), (0.001, 1.0, 1.0)])
def test_absurd_voxel_size_is_refused(tmp_path, brain, zooms):
    with pytest.raises(InvalidImageError, match="implausible voxel size"):
        check_t1w(str(_save(tmp_path, brain, zooms=zooms)))


def test_truncated_gzip_is_refused(tmp_path, brain):
    path = _save(tmp_path, brain)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidImageError, match="unreadable image"):
        check_t1w(str(path))


def test_not_an_image_is_refused(tmp_path):
    path = tmp_path / "sub-01_T1w.nii.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"this is not a NIfTI file")
    with pytest.raises(InvalidImageError, match="unreadable image"):
        check_t1w(str(path))


def test_mgz_input_is_read(tmp_path, shared_data):
    path = tmp_path / "norm.mgz"
    shutil.copyfile(shared_data / "niivue" / "norm.mgz", path)
    assert check_t1w(str(path)).shape == (256, 256, 256)
