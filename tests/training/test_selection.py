"""Training inputs: references paired by entities, reproducible subject draw, labels resolved, split table."""

from __future__ import annotations

import pytest

from bids_app.errors import SubsegError
from bids_app.labels import LabelError, resolve_labels
from bids_app.training.checks import TrainingError
from bids_app.training.selection import choose_subjects, collect_references, pair_images, split_table


def test_the_draw_depends_only_on_the_seed_and_the_pool():
    pool = [f"{i:02d}" for i in range(1, 31)]
    first = choose_subjects(pool, 5, seed=7)
    assert first == choose_subjects(list(reversed(pool)), 5, seed=7)
    assert len(first) == 5 and set(first) <= set(pool) and first == sorted(first)
    assert any(choose_subjects(pool, 5, seed=seed) != first for seed in range(8, 12))


def test_fewer_subjects_than_asked_is_refused():
    with pytest.raises(TrainingError, match="--train-size 3: only 2 subject"):
        choose_subjects(["01", "02"], 3, seed=0)


@pytest.mark.parametrize("values, message", [(["99999"], "99999 is not a FreeSurfer label number"),
                                             (["Left-Nothing"], "not a FreeSurfer label name"),
                                             (["0"], "background")])
def test_unknown_labels_are_refused(values, message):
    with pytest.raises(LabelError, match=message):
        resolve_labels(values)


def _touch(root, *relatives):
    for relative in relatives:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).touch()
    return [root / relative for relative in relatives]


def test_references_pair_by_entities_and_subjects_without_them_are_left_out(tmp_path):
    _touch(tmp_path, "sub-01/anat/sub-01_desc-aseg_dseg.nii.gz", "sub-01/anat/sub-01_desc-other_dseg.nii.gz",
           "sub-02/ses-1/anat/sub-02_ses-1_run-2_desc-aseg_dseg.nii.gz")
    t1w = [tmp_path / "bids/sub-01/anat/sub-01_T1w.nii.gz",
           tmp_path / "bids/sub-02/ses-1/anat/sub-02_ses-1_run-2_T1w.nii.gz",
           tmp_path / "bids/sub-03/anat/sub-03_T1w.nii.gz"]
    with pytest.raises(SubsegError, match="several reference label maps for sub-01_T1w.*--reference-desc"):
        pair_images(t1w, collect_references(tmp_path, None), None)
    references = collect_references(tmp_path, "aseg")
    pairs = pair_images(t1w, references, None)
    assert sorted(pairs) == ["01", "02"]
    assert pairs["02"][0].labels.name == "sub-02_ses-1_run-2_desc-aseg_dseg.nii.gz"
    assert pairs["02"][0].name == "sub-02_ses-1_run-2"
    with pytest.raises(TrainingError, match="no reference label map for sub-03_T1w.nii.gz"):
        pair_images(t1w, references, ["01", "03"])
    table = split_table(pairs, ["02"])
    assert table.to_dict("list") == {"participant_id": ["sub-01", "sub-02"], "role": ["held-out", "train"]}


def test_a_session_reference_serves_every_run_and_one_run_is_picked(tmp_path, caplog):
    """FreeSurfer writes one aseg per subject/session: it pairs with each run; --train-run picks one per session."""
    references = _touch(tmp_path / "ref", "sub-01/ses-A/anat/sub-01_ses-A_desc-aseg_dseg.nii.gz",
                        "sub-01/ses-B/anat/sub-01_ses-B_desc-aseg_dseg.nii.gz")
    t1w = _touch(tmp_path / "bids", "sub-01/ses-A/anat/sub-01_ses-A_run-2_T1w.nii.gz",
                 "sub-01/ses-A/anat/sub-01_ses-A_run-1_T1w.nii.gz", "sub-01/ses-B/anat/sub-01_ses-B_T1w.nii.gz",
                 "sub-01/ses-C/anat/sub-01_ses-C_T1w.nii.gz")
    with caplog.at_level("INFO", logger="subseg"):
        pairs = pair_images(t1w, collect_references(tmp_path / "ref", "aseg"), None)
    assert [image.t1w.name for image in pairs["01"]] == ["sub-01_ses-A_run-1_T1w.nii.gz", "sub-01_ses-B_T1w.nii.gz"]
    assert [image.labels for image in pairs["01"]] == references
    assert "sub-01_ses-A_desc-aseg_dseg.nii.gz has no acq-/rec-/run- entity" in caplog.text
    assert "sub-01 ses-A: 2 T1w images have a reference; training on sub-01_ses-A_run-1_T1w.nii.gz" in caplog.text
    assert "sub-01 ses-C: no reference label map" in caplog.text
    second = pair_images(t1w, collect_references(tmp_path / "ref", "aseg"), None, run="2")
    assert second["01"][0].t1w.name == "sub-01_ses-A_run-2_T1w.nii.gz"
    with pytest.raises(TrainingError, match="--train-run 3: none of .* is run 3"):
        pair_images(t1w, collect_references(tmp_path / "ref", "aseg"), None, run="3")
