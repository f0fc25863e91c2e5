"""Training inputs: references paired by entities, reproducible subject draw, labels resolved, split table."""

from __future__ import annotations

import pytest

from bids_app.training.checks import TrainingError, resolve_labels
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
    with pytest.raises(TrainingError, match=message):
        resolve_labels(values)


def test_references_pair_by_entities_and_subjects_without_them_are_left_out(tmp_path):
    for relative in ("sub-01/anat/sub-01_desc-aseg_dseg.nii.gz", "sub-01/anat/sub-01_desc-other_dseg.nii.gz",
                     "sub-02/ses-1/anat/sub-02_ses-1_run-2_desc-aseg_dseg.nii.gz"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).touch()
    with pytest.raises(TrainingError, match="--reference-desc"):
        collect_references(tmp_path, None)
    references = collect_references(tmp_path, "aseg")
    t1w = [tmp_path / "bids/sub-01/anat/sub-01_T1w.nii.gz", tmp_path / "bids/sub-02/ses-1/anat/sub-02_ses-1_run-2_T1w.nii.gz",
           tmp_path / "bids/sub-03/anat/sub-03_T1w.nii.gz"]
    pairs = pair_images(t1w, references, None)
    assert sorted(pairs) == ["01", "02"]
    assert pairs["02"][0].labels.name == "sub-02_ses-1_run-2_desc-aseg_dseg.nii.gz"
    assert pairs["02"][0].name == "sub-02_ses-1_run-2"
    with pytest.raises(TrainingError, match="no reference label map for sub-03_T1w.nii.gz"):
        pair_images(t1w, references, ["01", "03"])
    table = split_table(pairs, ["02"])
    assert table.to_dict("list") == {"participant_id": ["sub-01", "sub-02"], "role": ["held-out", "train"]}
