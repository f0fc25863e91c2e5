"""The group report from real label maps and their T1w (fsaverage, 2 mm), chosen rows, opened in Chromium."""

from __future__ import annotations

import json

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from configs import group_config

from bids_app.group import run_group
from bids_app.labels import LABELS, SUBCORTICAL, swap_sides
from bids_app.reports.study_figure import MAX_SWAP_ROWS, choose_images, source_t1w
from tests.reports.chromium_helpers import open_report


def _dataset_description(root, name, kind=None):
    root.mkdir(parents=True, exist_ok=True)
    description = {"Name": name, "BIDSVersion": "1.8.0"}
    if kind:
        description.update({"DatasetType": kind, "GeneratedBy": [{"Name": name}]})
    (root / "dataset_description.json").write_text(json.dumps(description))
    return root


def _label_map(data, affine, root, subject, desc, sources=True):
    folder = root / f"sub-{subject}" / "anat"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sub-{subject}_desc-{desc}_dseg.nii.gz"
    nb.Nifti1Image(data.astype(np.int16), affine).to_filename(path)
    if sources:
        path.with_name(path.name.replace(".nii.gz", ".json")).write_text(
            json.dumps({"Sources": [f"bids:raw:sub-{subject}/anat/sub-{subject}_T1w.nii.gz"]}))


@pytest.fixture(scope="module")
def group_run(shared_data, tmp_path_factory):
    """Raw T1w, references and two descs for three subjects; sub-02's nnunet5 has its hemispheres swapped."""
    tmp = tmp_path_factory.mktemp("group_report")
    t1w = nb.load(shared_data / "fsaverage" / "orig_2mm.mgz")
    aseg_image = nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")
    aseg = np.asarray(aseg_image.dataobj).astype(np.int32)
    raw = _dataset_description(tmp / "raw", "fsaverage-2mm")
    outputs = _dataset_description(tmp / "out", "subseg", "derivative")
    references = _dataset_description(tmp / "ref", "freesurfer", "derivative")
    rows = ["index\tname"] + [f"{index}\t{LABELS[index].name}" for index in (0, *SUBCORTICAL)]
    (outputs / "dseg.tsv").write_text("\n".join(rows) + "\n")  # what is scored, even when left out
    subcortical = np.where(np.isin(aseg, SUBCORTICAL), aseg, 0)
    predictions = {
        "nnunet5": {"01": np.roll(subcortical, 1, axis=0), "02": swap_sides(subcortical),
                    "03": np.roll(subcortical, 1, axis=2)},
        "synthseg": {"01": subcortical, "02": np.where(subcortical == 26, 0, subcortical),
                     "03": np.roll(subcortical, 2, axis=1)},
    }
    for subject in ("01", "02", "03"):
        (raw / f"sub-{subject}" / "anat").mkdir(parents=True)
        nb.Nifti1Image(np.asarray(t1w.dataobj).astype(np.float32), t1w.affine).to_filename(
            raw / f"sub-{subject}" / "anat" / f"sub-{subject}_T1w.nii.gz")
        _label_map(aseg, aseg_image.affine, references, subject, "aseg", sources=False)
        for desc, by_subject in predictions.items():
            _label_map(by_subject[subject], aseg_image.affine, outputs, subject, desc)
    run_group(group_config(bids_dir=raw, output_dir=outputs, descs=None, reference_dir=references,
                           reference_desc="aseg", participant_labels=None, tolerance_mm=2.0, nprocs=1))
    return outputs / "group"


def test_rows_chosen_by_mean_dice_and_swaps(group_run):
    metrics = pd.read_csv(group_run / "metrics.tsv", sep="\t", dtype={"subject": str})
    dice = metrics[metrics["metric"] == "dice"].assign(image="sub-" + metrics["subject"])
    symmetry = pd.read_csv(group_run / "symmetry.tsv", sep="\t", dtype={"subject": str})
    symmetry["image"] = "sub-" + symmetry["subject"]
    choices = {(choice.desc, choice.image): choice for choice in choose_images(dice, symmetry)}
    means = dice.groupby(["desc", "image"])["value"].mean()
    assert choices[("nnunet5", "sub-02")].why == "lowest mean Dice, hemisphere swap"
    assert choices[("synthseg", "sub-01")].why == "highest mean Dice" and means["synthseg", "sub-01"] == 1.0
    assert len(choices) == 6  # three images per desc, the swap among them
    worst = choices[("nnunet5", "sub-02")]
    assert worst.worst_structure.startswith(("Left-", "Right-")) and worst.mean_dice < 0.1


def test_group_report_in_chromium(group_run, tmp_path):
    page = (group_run / "report.html").read_text()
    assert "<th colspan=\"4\" halign=\"left\">fsaverage-2mm</th>" in page  # one column group per dataset
    assert "without a T1w" not in page
    shown = open_report(group_run / "report.html", tmp_path)
    assert shown.console_errors == []
    assert [image["alt"] for image in shown.images] == ["DSC", "HD95", "NSD", "left/right confusion",
                                                       "reference and every desc side by side"]
    assert all(image["width"] > 300 and image["distinct"] > 50 for image in shown.images), shown.images
    assert shown.viewer is None


def test_t1w_found_through_the_sidecar_sources(group_run):
    out = group_run.parent
    raw = out.parent / "raw"
    prediction = out / "sub-01" / "anat" / "sub-01_desc-synthseg_dseg.nii.gz"
    assert source_t1w(prediction, raw) == raw / "sub-01" / "anat" / "sub-01_T1w.nii.gz"
    assert source_t1w(prediction, out) is None  # named by the sidecar, but not in that folder
    reference = out.parent / "ref" / "sub-01" / "anat" / "sub-01_desc-aseg_dseg.nii.gz"
    assert source_t1w(reference, raw) is None  # no sidecar


def test_swap_rows_are_capped_to_the_largest_swap_fractions():
    """A study whose every image is a swap draws the three Dice picks and the worst swaps, not every image."""
    images = [f"sub-{n:02d}" for n in range(10)]
    dice = pd.DataFrame([{"desc": "model", "image": image, "label": 17, "structure": "Left-Hippocampus",
                          "value": 0.1 + 0.05 * n, "status": "ok"} for n, image in enumerate(images)])
    fractions = [0.6, 0.9, 0.7, 0.95, 0.8, 0.65, 0.99, 0.75, 0.85, 0.55]
    symmetry = pd.DataFrame({"desc": "model", "image": images, "hemisphere_swap": True,
                             "swap_fraction": fractions})
    choices = choose_images(dice, symmetry)
    swap_only = {choice.image for choice in choices if choice.why == "hemisphere swap"}
    assert len(choices) == 3 + MAX_SWAP_ROWS
    assert swap_only == {"sub-06", "sub-03", "sub-01"}  # largest fractions among the images not picked by Dice
    assert all("hemisphere swap" in choice.why for choice in choices)  # the Dice picks are swaps too
