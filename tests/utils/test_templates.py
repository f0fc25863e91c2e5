"""TemplateFlow offline: a home built from nilearn's template, read through templateflow's own API."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest

from bids_app.utils.templates import NILEARN_TEMPLATE, TemplateNotFoundError, get_template_file


def test_template_and_mask_come_from_templateflow(templateflow_home):
    t1w = get_template_file(NILEARN_TEMPLATE, resolution=1, suffix="T1w", desc=None)
    mask = get_template_file(NILEARN_TEMPLATE, resolution=1, suffix="mask", desc="brain")
    assert t1w.parent.parent == templateflow_home
    t1w_image, mask_image = nb.load(t1w), nb.load(mask)
    assert t1w_image.shape == mask_image.shape == (197, 233, 189)
    assert np.allclose(t1w_image.header.get_zooms(), 1.0)
    assert np.allclose(t1w_image.affine, mask_image.affine)
    brain = np.asanyarray(mask_image.dataobj) > 0
    intensity = t1w_image.get_fdata()
    assert intensity[brain].min() >= 0 and intensity[~brain].mean() < 0.05 * intensity[brain].mean()
    assert 1.0e6 < brain.sum() < 2.0e6  # a brain's volume in mm^3


def test_missing_file_names_file_and_fetch_command(templateflow_home):
    with pytest.raises(TemplateNotFoundError) as error:
        get_template_file("MNI152NLin2009cAsym", resolution=1, suffix="T1w", desc=None)
    message = str(error.value)
    assert "tpl-MNI152NLin2009cAsym_res-01_T1w.nii.gz" in message
    assert "import templateflow.api as tf; tf.get('MNI152NLin2009cAsym', resolution=1, suffix='T1w'" in message


def test_unknown_template_lists_known_ones(templateflow_home):
    with pytest.raises(TemplateNotFoundError, match=f"no file for template 'MNI999'.*{NILEARN_TEMPLATE}"):
        get_template_file("MNI999")


def test_home_is_read_at_call_time(templateflow_home, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(missing))
    with pytest.raises(TemplateNotFoundError, match=f"TemplateFlow home {missing} is missing"):
        get_template_file(NILEARN_TEMPLATE)
    assert not missing.exists()
