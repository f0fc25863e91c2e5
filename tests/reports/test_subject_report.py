"""The participant report built by its nipype interfaces from a real FreeSurfer subject, opened in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from bids_app.interfaces.reports import SegmentationPlot, SubjectReport
from bids_app.interfaces.volumes import structure_volumes
from bids_app.labels import LABELS, SUBCORTICAL
from bids_app.reports.viewer import viewer_images
from bids_app.reports.volume_table import asymmetry_index, paired_volumes
from tests.reports.chromium_helpers import open_report


#: aseg labels of the real subject (its Destrieux cortex, 11101+, is not in our label table and is left out).
_ASEG_MAX = 255


@pytest.fixture(scope="module")
def subject(shared_data, tmp_path_factory):
    """A real T1w (FreeSurfer's norm.mgz of one person) and its aseg labels as NIfTI, brain mask from the labels."""
    folder = tmp_path_factory.mktemp("subject")
    t1w = nb.load(shared_data / "niivue" / "norm.mgz")
    labels = np.asanyarray(nb.load(shared_data / "niivue" / "aparc.a2009s+aseg.mgz").dataobj).astype(np.int16)
    labels[labels > _ASEG_MAX] = np.where(labels[labels > _ASEG_MAX] >= 12000, 42, 3)  # cortex parcels -> cortex
    paths = {name: folder / f"{name}.nii.gz" for name in ("t1w", "dseg", "mask")}
    nb.save(nb.Nifti1Image(np.asanyarray(t1w.dataobj), t1w.affine), paths["t1w"])
    nb.save(nb.Nifti1Image(labels, t1w.affine), paths["dseg"])
    nb.save(nb.Nifti1Image((labels > 0).astype(np.uint8), t1w.affine), paths["mask"])
    volumes = folder / "volumes.tsv"
    structure_volumes(nb.load(paths["dseg"])).to_csv(volumes, sep="\t", index=False)
    provenance = folder / "provenance.json"
    provenance.write_text(json.dumps({"Engine": "meshnet", "Model": "model21_104class",
                                      "BrainExtractionModel": "mindgrab", "Device": "cpu",
                                      "SegmentationSeconds": 27.5, "TestTimeFlip": True,
                                      "SelfConsistency": {"Dice": {"Left-Caudate": 0.94, "Right-Caudate": 0.21},
                                                          "Threshold": 0.3, "Flagged": ["Right-Caudate"]}}))
    return {**paths, "volumes": volumes, "provenance": provenance, "folder": folder}


@pytest.fixture(scope="module")
def report(subject, tmp_path_factory):
    """The report as the participant workflow makes it: picture, then page."""
    work = tmp_path_factory.mktemp("report_work")
    plot = SegmentationPlot(t1w=str(subject["t1w"]), dseg=str(subject["dseg"])).run(cwd=str(work))
    page = SubjectReport(
        source_file=str(subject["t1w"]), figure=plot.outputs.out_file, volumes=str(subject["volumes"]),
        provenance=str(subject["provenance"]), desc="meshnet", t1w=str(subject["t1w"]), dseg=str(subject["dseg"]),
        brain_mask=str(subject["mask"]),
        metadata={"Sources": ["bids:raw:sub-01/anat/sub-01_T1w.nii.gz"],
                  "SoftwareVersions": {"subseg": "0.1.0", "nipype": "1.8.6"}, "Manual": False},
        preprocessing={"BiasCorrection": "N4", "BiasCorrectionParameters": {"ShrinkFactor": 4}},
    ).run(cwd=str(work))
    return page.outputs.out_file


def test_volume_table_pairs_left_and_right(subject):
    volumes = pd.read_csv(subject["volumes"], sep="\t")
    table = paired_volumes(volumes, icv_mm3=1_000_000.0).set_index("structure")
    by_label = volumes.set_index("label")["volume_mm3"]
    hippocampus = table.loc["Hippocampus"]
    assert hippocampus["left_mm3"] == pytest.approx(by_label[17], abs=0.05)
    assert hippocampus["asymmetry_index"] == pytest.approx(
        (by_label[17] - by_label[53]) / ((by_label[17] + by_label[53]) / 2), abs=5e-4)
    assert hippocampus["left_pct_icv"] == pytest.approx(100 * by_label[17] / 1e6, abs=5e-4)
    assert list(table.index[:8]) == ["Thalamus", "Caudate", "Putamen", "Pallidum", "Hippocampus", "Amygdala",
                                     "Accumbens-area", "VentralDC"]
    assert "Brain-Stem" in table.index and np.isnan(table.loc["Brain-Stem", "asymmetry_index"])
    assert np.isnan(asymmetry_index(0.0, 0.0))


def test_report_page_content(report, subject):
    page = open(report).read()
    assert 1_000_000 < len(page.encode()) < 8_000_000, "one self-contained file of a few MB"
    for label in SUBCORTICAL:  # the legend names every subcortical structure present
        assert f"{label} {LABELS[label].name}</li>" in page
    volumes_section = page.split("<h2>Structure volumes</h2>")[1].split("<h2>")[0]
    assert "from the brain mask" in volumes_section
    numbers = re.findall(r"<td>(-?\d+\.\d+)</td>", volumes_section)
    assert numbers and all(len(number.split(".")[1]) <= 3 for number in numbers), "no float noise"
    assert "N4 [3]" in page and "doi:10.1109/TMI.2010.2046908" in page  # methods cite what the run did
    assert "<td>BiasCorrectionParameters / ShrinkFactor</td><td><code>4</code></td>" in page
    assert "Source: <code>bids:raw:sub-01/anat/sub-01_T1w.nii.gz</code>" in page
    assert "http://" not in page.split("<script>")[0] and "src=\"http" not in page, "nothing fetched"
    consistency = page.split("<h2>Self-consistency (test-time flip)</h2>")[1].split("<h2>")[0]
    assert "below 0.3 is a quality flag" in consistency
    assert re.search(r"<td>Right-Caudate</td>\s*<td>0.21</td>\s*<td>yes</td>", consistency)
    assert re.search(r"<td>Left-Caudate</td>\s*<td>0.94</td>\s*<td></td>", consistency)


def test_viewer_images_are_compact_and_keep_names(subject):
    images = viewer_images(nb.load(subject["t1w"]), nb.load(subject["dseg"]))
    labels = images["colormap"]["labels"]
    assert labels[0] == "background" and "Left-Hippocampus" in labels
    assert len(images["t1w"]) + len(images["dseg"]) < 3_000_000


def test_report_in_chromium(report, tmp_path):
    shown = open_report(Path(report), tmp_path)
    assert shown.console_errors == []
    assert len(shown.images) == 1 and shown.images[0]["distinct"] > 200, shown.images
    assert shown.viewer["loaded"] and shown.viewer["distinct"] > 1000, shown.viewer
    assert shown.viewer["status"].split("  (")[0] in {label.name for label in LABELS.values()} | {"background"}
    assert shown.screenshot.stat().st_size > 100_000
