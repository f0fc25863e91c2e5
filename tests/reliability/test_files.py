"""Files honour the umask; numbers in messages print as numbers."""

from __future__ import annotations

import os
import stat

import nibabel as nb
import numpy as np
import pytest

from bids_app.interfaces.validation import InvalidImageError, check_t1w
from bids_app.utils.atomic import atomic_copy, atomic_write_text, current_umask


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_honour_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        text = atomic_write_text(tmp_path / "sub-01_desc-x_volumes.tsv", "label\n17\n")
        copy = atomic_copy(text, tmp_path / "copy.tsv")
        plain = tmp_path / "plain.tsv"
        plain.write_text("")  # what open() gives under this umask
    finally:
        os.umask(previous)
    expected = stat.S_IMODE(plain.stat().st_mode)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE(text.stat().st_mode) == stat.S_IMODE(copy.stat().st_mode) == expected
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.tsv", "plain.tsv", "sub-01_desc-x_volumes.tsv"]


def test_numbers_in_messages_print_as_numbers(tmp_path, shared_data):
    scan = np.load(shared_data / "voxelmorph" / "test_scan.npz")["vol"][:100, :100, :100].astype(np.float32)
    path = tmp_path / "sub-01_T1w.nii.gz"
    nb.Nifti1Image(scan, np.diag([1.0, 1.0, 50.0, 1.0])).to_filename(path)
    with pytest.raises(InvalidImageError) as caught:
        check_t1w(str(path))
    assert "voxel size 1 x 1 x 50 mm" in str(caught.value) and "np." not in str(caught.value)
