"""References as FreeSurfer writes them: niivue's real aparc.a2009s+aseg (Destrieux parcels 11100s/12100s), one
per session (no run-), scored against predictions of two models that know different structures."""

from __future__ import annotations

import json
import logging

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from configs import group_config

from bids_app.group import run_group
from bids_app.labels import LABELS, SUBCORTICAL

CORTEX = (3, 42)


def _folder(root, name):
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "derivative", "GeneratedBy": [{"Name": name}]}))
    return root


def _lookup(path, labels):
    rows = ["index\tname"] + [f"{index}\t{LABELS[index].name}" for index in (0, *labels)]
    path.write_text("\n".join(rows) + "\n")


def _save(data, affine, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nb.Nifti1Image(data.astype(np.int16), affine).to_filename(path)


@pytest.fixture(scope="module")
def freesurfer_case(shared_data, tmp_path_factory):
    """aparc.a2009s+aseg (cropped to the head) as the session's reference; two runs predicted by two models."""
    image = nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz")
    data = np.asarray(image.dataobj).astype(np.int32)
    box = tuple(slice(max(int(i.min()) - 3, 0), int(i.max()) + 4) for i in np.nonzero(data))
    image = nb.Nifti1Image(data, image.affine).slicer[box]
    parcels = np.asarray(image.dataobj)
    # What aseg holds for the same voxels, computed here from FreeSurfer's number ranges.
    aseg = parcels.copy()
    aseg[(parcels >= 11100) & (parcels < 12100)] = 3
    aseg[(parcels >= 12100) & (parcels < 13100)] = 42
    tmp = tmp_path_factory.mktemp("freesurfer")
    raw = tmp / "raw"
    raw.mkdir()
    (raw / "dataset_description.json").write_text(json.dumps({"Name": "FreeSurferSet", "BIDSVersion": "1.8.0"}))
    outputs, references = _folder(tmp / "out", "subseg"), _folder(tmp / "ref", "freesurfer")
    _save(parcels, image.affine, references / "sub-02/anat/sub-02_desc-aparca2009saseg_dseg.nii.gz")
    subcortical = np.where(np.isin(aseg, SUBCORTICAL), aseg, 0)
    whole = np.where(np.isin(aseg, (*SUBCORTICAL, *CORTEX)), aseg, 0)
    for run in ("1", "2"):
        _save(subcortical, image.affine, outputs / f"sub-02/anat/sub-02_run-{run}_desc-sixteen_dseg.nii.gz")
        _save(whole, image.affine, outputs / f"sub-02/anat/sub-02_run-{run}_desc-withcortex_dseg.nii.gz")
    _lookup(outputs / "desc-sixteen_dseg.tsv", SUBCORTICAL)
    _lookup(outputs / "desc-withcortex_dseg.tsv", (*SUBCORTICAL, *CORTEX))
    _lookup(outputs / "dseg.tsv", (*SUBCORTICAL, *CORTEX))  # the union, as the participant level writes it
    return raw, outputs, references, parcels


def _run(freesurfer_case, caplog, **options):
    raw, outputs, references, _ = freesurfer_case
    with caplog.at_level(logging.INFO, logger="subseg"):
        run_group(group_config(bids_dir=raw, output_dir=outputs, descs=None, reference_dir=references,
                               reference_desc=None, participant_labels=None, nprocs=1, **options))
    group = outputs / "group"
    return (pd.read_csv(group / "metrics.tsv", sep="\t", dtype={"run": str}),
            pd.read_csv(group / "symmetry.tsv", sep="\t"), pd.read_csv(group / "folded_labels.tsv", sep="\t"))


def test_parcels_fold_into_cortex_and_each_model_is_scored_on_what_it_knows(freesurfer_case, caplog):
    metrics, symmetry, folded = _run(freesurfer_case, caplog)
    dice = metrics[metrics["metric"] == "dice"]
    # Each desc on its own table: 16 structures for the 16-label model, 18 with cortex; both runs matched.
    assert dice.groupby(["desc", "run"]).size().to_dict() == {
        ("sixteen", "1"): 16, ("sixteen", "2"): 16, ("withcortex", "1"): 18, ("withcortex", "2"): 18}
    assert set(dice["status"]) == {"ok"}
    cortex = dice[dice["label"].isin(CORTEX)]
    assert len(cortex) == 4 and np.allclose(cortex["value"], 1.0)  # was empty_reference, Dice 0
    assert np.allclose(symmetry["foreground_dice"], 1.0)
    # What was folded is recorded, and said once.
    parcels = freesurfer_case[3]
    reference = folded[folded["map"] == "reference"]
    expected = {int(label): int(count) for label, count in zip(*np.unique(parcels[parcels >= 11100],
                                                                          return_counts=True))}
    per_image = reference[(reference["desc"] == "withcortex") & (reference["run"] == 1)]
    assert dict(zip(per_image["label"], per_image["voxels"])) == expected
    assert set(per_image["into_label"]) == set(CORTEX) and 11101 in expected
    assert caplog.text.count("were folded into Left-Cerebral-Cortex, Right-Cerebral-Cortex before scoring") == 1
    assert "sub-02_desc-aparca2009saseg_dseg.nii.gz has no acq-/rec-/run- entity of its own" in caplog.text


def test_labels_names_the_structures_to_score(freesurfer_case, caplog):
    metrics, _, _ = _run(freesurfer_case, caplog, labels=["Left-Cerebral-Cortex", "53"])
    dice = metrics[metrics["metric"] == "dice"]
    assert sorted(set(dice["label"])) == [3, 53]
    scored = dice.set_index(["desc", "run", "label"])
    assert scored.loc[("sixteen", "1", 3), "status"] == "empty_prediction"  # it does not segment cortex
    assert scored.loc[("withcortex", "1", 3), "value"] == pytest.approx(1.0)


def test_labels_reach_the_group_level_from_the_command_line(tmp_path):
    from bids_app.cli.parser import parse_args
    from bids_app.config import Config

    argv = [str(tmp_path), str(tmp_path / "derivatives" / "subseg"), "group", "--labels", "Left-Hippocampus", "53"]
    assert Config.from_args(parse_args(argv)).evaluation.labels == ["Left-Hippocampus", "53"]
