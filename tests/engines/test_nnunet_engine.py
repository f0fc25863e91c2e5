"""The nnU-Net engine on a real image with a real (tiny, CPU-trained) model."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines.nnunet import NNUNetEngine
from bids_app.interfaces.segment import Segment
from bids_app.utils.conform import resample_like

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tiny_nnunet_model):
    return NNUNetEngine(tiny_nnunet_model, device="cpu", omp_nthreads=1)


@pytest.fixture(scope="module")
def sub01(sample_bids):
    return nb.load(sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz")


@pytest.fixture(scope="module")
def sub01_segmentation(engine, sub01):
    return engine.predict(sub01)


@pytest.fixture(scope="module")
def sub01_labels(sub01_segmentation):
    return sub01_segmentation.labels


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1)


def test_labels_on_the_input_grid(sub01, sub01_labels):
    assert sub01_labels.shape == sub01.shape
    assert np.allclose(sub01_labels.affine, sub01.affine)
    assert nb.aff2axcodes(sub01_labels.affine) == ("L", "I", "A")


def test_labels_are_freesurfer_numbers_of_the_model(sub01_labels, tiny_nnunet_labels):
    present = set(np.unique(np.asanyarray(sub01_labels.dataobj)).tolist())
    assert present <= {0, *tiny_nnunet_labels}
    assert len(present - {0}) >= 8


def test_dice_against_reference_on_a_training_subject(sample_bids, sub01_labels, tiny_nnunet_labels):
    reference = nb.load(sample_bids / "derivatives/reference/sub-01/anat/sub-01_desc-aseg_dseg.nii.gz")
    truth, labels = np.asanyarray(reference.dataobj), np.asanyarray(sub01_labels.dataobj)
    dice = {label: _dice(labels == label, truth == label) for label in tiny_nnunet_labels}
    assert np.mean(list(dice.values())) > 0.5, dice


def test_same_labels_in_world_space_whatever_the_voxel_order(engine, sub01, sub01_labels):
    # Store sub-01 as P-S-R (axes permuted and flipped) instead of L-I-A.
    flipped = sub01.as_reoriented(np.array([[2, 1], [1, -1], [0, -1]]))
    assert nb.aff2axcodes(flipped.affine) != nb.aff2axcodes(sub01.affine)
    result = engine.predict(flipped).labels
    assert result.shape == flipped.shape and np.allclose(result.affine, flipped.affine)
    back = resample_like(result, sub01, order=0)
    assert np.array_equal(np.asanyarray(back.dataobj), np.asanyarray(sub01_labels.dataobj))


def test_an_offset_copy_with_spikes_is_cleaned_and_segmented_alike(engine, sub01, sub01_segmentation,
                                                                    tiny_nnunet_labels):
    """The tiny model normalises inside the non-zero region: sub-01 (skull-stripped, zero air) goes in as it is;
    the same head stored with a background offset (no exact zero left) and spikes at the int16 extremes gets its
    spikes replaced and its zero background back (its level subtracted), and the same labels."""
    assert engine.normalises_inside_nonzero
    field = sub01_segmentation.provenance["ZeroBackground"]
    assert field["Flagged"] is False and field["SpikesReplaced"] == 0 and "BackgroundCleaned" not in field
    data = np.asanyarray(sub01.dataobj).astype(np.float32) + 12.0
    spots = np.random.default_rng(0).choice(data.size, 40, replace=False)
    np.put(data, spots[:20], 32767.0)
    np.put(data, spots[20:], -32768.0)
    copy = engine.predict(nb.Nifti1Image(data, sub01.affine))
    field = copy.provenance["ZeroBackground"]
    assert field["ZeroFraction"] == 0.0 and field["SpikesReplaced"] == 40
    assert field["BackgroundCleaned"]["Level"] == 12.0 and field["Flagged"] is False
    plain, cleaned = np.asanyarray(sub01_segmentation.labels.dataobj), np.asanyarray(copy.labels.dataobj)
    dice = {label: _dice(plain == label, cleaned == label) for label in tiny_nnunet_labels}
    assert np.mean(plain == cleaned) > 0.9999 and min(dice.values()) > 0.99, dice


def test_provenance(engine, tiny_nnunet_model):
    provenance = engine.provenance()
    assert provenance["Engine"] == "nnunet" and provenance["Model"] == tiny_nnunet_model.name
    assert provenance["Trainer"] == "nnUNetTrainerSubsegCPU"
    assert (provenance["Plans"], provenance["Configuration"]) == ("subsegCPUPlans", "3d_fullres")
    assert provenance["Folds"] == ["all"] and provenance["Checkpoint"] == "checkpoint_final.pth"
    assert provenance["Device"] == "cpu" and provenance["Versions"]["nnunetv2"]
    resampling = provenance["Resampling"]  # the small CPU plan works at 2 mm: nnU-Net resamples every head
    assert resampling["PlanSpacing"] == [2.0, 2.0, 2.0] and resampling["Intensities"].startswith("spline of order 3")
    assert resampling["ReturnToInputGrid"] == "posteriors resampled with a spline of order 1 by nnU-Net, then the argmax"


def test_interface_writes_labels_and_provenance(tiny_nnunet_model, sample_bids, tmp_path, tiny_nnunet_labels):
    in_file = sample_bids / "sub-02" / "anat" / "sub-02_T1w.nii.gz"
    node = Segment(in_file=str(in_file), engine="nnunet", options={"model": str(tiny_nnunet_model)}, device="cpu",
                   omp_nthreads=1, write_probseg=True)
    result = node.run(cwd=str(tmp_path))
    labels = nb.load(result.outputs.out_dseg)
    assert labels.shape == nb.load(in_file).shape
    assert set(np.unique(np.asanyarray(labels.dataobj)).tolist()) <= {0, *tiny_nnunet_labels}
    assert sorted(result.outputs.out_probseg_labels) == sorted(tiny_nnunet_labels)
    assert json.loads(open(result.outputs.out_provenance).read())["Folds"] == ["all"]
