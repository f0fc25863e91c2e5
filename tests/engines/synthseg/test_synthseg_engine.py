"""SynthSegEngine on a real T1w: labels on the input grid, orientation handling, weights errors."""

from __future__ import annotations

import shutil

import nibabel as nb
import numpy as np
import pytest
from synthseg_keras_reference import save_torch_in_published_layout

from bids_app.engines.synthseg import SPEC, SynthSegEngine, WeightsNotFoundError
from bids_app.engines.synthseg.labels import QC_NAMES, SEGMENTATION_LABELS
from bids_app.engines.synthseg.qc import QCNetwork
from bids_app.utils.conform import conform


@pytest.fixture(scope="module")
def engine(random_weights):
    return SynthSegEngine(random_weights, device="cpu", omp_nthreads=2, crop=64)


def test_engine_resamples_internally():
    assert SPEC.grid == {"orientation": "RAS"}  # the workflow only reorients; the engine resamples


def test_labels_on_input_grid_with_provenance(engine, t1w_64, random_weights):
    result = engine.predict(t1w_64)
    assert result.labels.shape == t1w_64.shape
    assert np.allclose(result.labels.affine, t1w_64.affine)
    found = set(np.unique(np.asarray(result.labels.dataobj)).tolist())
    assert found <= set(SEGMENTATION_LABELS["2.0"]) and len(found) > 3
    provenance = result.provenance
    assert provenance["Engine"] == "synthseg" and provenance["Model"] == "synthseg_2.0.h5"
    assert len(provenance["ModelSHA256"]) == 64 and provenance["Device"] == "cpu"
    assert provenance["Options"] == {"robust": False, "parc": False, "fast": False, "crop": 64, "qc": False}
    assert "QualityControl" not in provenance
    assert "2.0" in provenance["Version"]


def test_storage_orientation_does_not_change_labels(engine, t1w_64):
    """The same head stored LIA and PSR (axes permuted and flipped) gives the same labels in world space."""
    as_lia = engine.predict(t1w_64).labels
    as_psr = engine.predict(conform(t1w_64, "PSR")).labels
    assert nb.aff2axcodes(as_psr.affine) == ("P", "S", "R")
    assert np.array_equal(np.asarray(as_psr.dataobj), np.asarray(conform(as_lia, "PSR").dataobj))


def test_anisotropic_input_comes_back_on_its_grid(engine, t1w_64):
    data = np.asarray(t1w_64.dataobj)[:, ::2, :]
    affine = t1w_64.affine.copy()
    affine[:3, 1] *= 2
    thick = nb.Nifti1Image(data, affine)
    result = engine.predict(thick)
    assert result.labels.shape == thick.shape and np.allclose(result.labels.affine, affine)
    assert np.count_nonzero(np.asarray(result.labels.dataobj)) > 0


def test_thick_slices_get_labels_from_the_resampled_posteriors(random_weights, t1w_64):
    """Off the network's 1 mm lattice, labels are the argmax of the posteriors brought to the input grid."""
    engine = SynthSegEngine(random_weights, device="cpu", omp_nthreads=2, crop=64, probabilities=True)
    affine = t1w_64.affine.copy()
    affine[:3, 1] *= 2
    thick = nb.Nifti1Image(np.asarray(t1w_64.dataobj)[:, ::2, :], affine)
    result = engine.predict(thick)
    assert result.provenance["ReturnToInputGrid"].startswith("posteriors")
    labels = np.asarray(result.labels.dataobj)
    names = sorted(result.probabilities)
    stack = np.stack([np.asarray(result.probabilities[name].dataobj) for name in names])
    np.testing.assert_array_equal(labels, np.asarray(names)[stack.argmax(0)])
    lattice = engine.predict(t1w_64)
    assert lattice.provenance["ReturnToInputGrid"].startswith("exact")


def test_posteriors_sum_to_one(random_weights, t1w_64):
    fast = SynthSegEngine(random_weights, device="cpu", fast=True, probabilities=True, crop=64)
    result = fast.predict(t1w_64)
    assert sorted(result.probabilities) == sorted(SEGMENTATION_LABELS["2.0"])
    total = sum(np.asarray(image.dataobj) for image in result.probabilities.values())
    assert np.allclose(total, 1, atol=1e-5)
    assert result.provenance["Options"]["fast"] is True


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSEG_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="subseg models fetch synthseg"):
        SynthSegEngine("synthseg_2.0.h5")


@pytest.mark.slow
def test_quality_scores_per_group_in_provenance(random_weights, t1w_64, tmp_path):
    weights = shutil.copy(random_weights, tmp_path / "synthseg_2.0.h5")
    save_torch_in_published_layout(QCNetwork().keras_layers(), tmp_path / "synthseg_qc_2.0.h5", seed=1)
    provenance = SynthSegEngine(weights, device="cpu", fast=True, crop=64, qc=True).predict(t1w_64).provenance
    assert list(provenance["QualityControl"]) == list(QC_NAMES)
    assert all(0 <= score <= 1 and round(score, 4) == score for score in provenance["QualityControl"].values())
    assert provenance["QualityControlModel"] == "synthseg_qc_2.0.h5"
    assert len(provenance["QualityControlModelSHA256"]) == 64 and provenance["Options"]["qc"] is True


def test_missing_quality_control_weights_say_how_to_get_them(random_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSEG_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match=r"synthseg_qc_2.0.h5 not found beside .* 'subseg models import"):
        SynthSegEngine(random_weights, qc=True)
