"""End to end: run_group on a small derivatives folder built from a real label map."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import threading
import time

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

from configs import group_config

from bids_app.group import GroupError, run_group
from bids_app.labels import LABELS, SUBCORTICAL, swap_sides
from bids_app.utils.lookup_table import LookupTableError


def _derivatives(root, name):
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "derivative", "GeneratedBy": [{"Name": name}]}))
    return root


def _save(data, affine, root, subject, desc):
    folder = root / f"sub-{subject}" / "anat"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sub-{subject}_desc-{desc}_dseg.nii.gz"
    nb.Nifti1Image(data.astype(np.int16), affine).to_filename(path)
    return path


@pytest.fixture(scope="module")
def dataset(shared_data, tmp_path_factory):
    """Raw folder, outputs (2 descs, 3 subjects) and references (2 subjects) from fsaverage's 2 mm aseg."""
    tmp = tmp_path_factory.mktemp("group")
    image = nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")
    aseg = np.asarray(image.dataobj).astype(np.int32)
    raw = tmp / "raw"
    raw.mkdir()
    (raw / "dataset_description.json").write_text(json.dumps({"Name": "TestSet", "BIDSVersion": "1.8.0"}))
    outputs, references = _derivatives(tmp / "out", "subseg"), _derivatives(tmp / "ref", "freesurfer")
    rows = ["index\tname\tabbreviation\tcolor\themi"] + [
        f"{i}\t{LABELS[i].name}\t{LABELS[i].abbreviation}\t{LABELS[i].color}\t{LABELS[i].hemi}"
        for i in (0, *SUBCORTICAL)]
    (outputs / "dseg.tsv").write_text("\n".join(rows) + "\n")
    subcortical = np.where(np.isin(aseg, SUBCORTICAL), aseg, 0)
    no_accumbens = np.where(subcortical == 26, 0, subcortical)
    for subject in ("01", "02", "03"):
        _save(aseg, image.affine, references, subject, "aseg")
    _save(np.roll(subcortical, 1, axis=0), image.affine, outputs, "01", "nnunet5")
    _save(subcortical, image.affine, outputs, "01", "synthseg")
    _save(swap_sides(subcortical), image.affine, outputs, "02", "nnunet5")
    _save(no_accumbens, image.affine, outputs, "02", "synthseg")
    # A prediction on another grid (1 mm, same field of view), and one without reference.
    fine = nb.Nifti1Image(subcortical.repeat(2, 0).repeat(2, 1).repeat(2, 2).astype(np.int16),
                          image.affine @ np.diag([0.5, 0.5, 0.5, 1]) @ np.array(
                              [[1, 0, 0, 0.5], [0, 1, 0, 0.5], [0, 0, 1, 0.5], [0, 0, 0, 1]]))
    _save(np.asarray(fine.dataobj), fine.affine, outputs, "03", "nnunet5")
    _save(subcortical, image.affine, outputs, "04", "nnunet5")
    return raw, outputs, references


@pytest.fixture(scope="module")
def group_dir(dataset):
    raw, outputs, references = dataset
    run_group(group_config(bids_dir=raw, output_dir=outputs, descs=["nnunet5", "synthseg"], reference_dir=references,
                           reference_desc="aseg", participant_labels=None, tolerance_mm=2.0, nprocs=2))
    return outputs / "group"


def test_metrics_table_is_long_and_complete(group_dir):
    metrics = pd.read_csv(group_dir / "metrics.tsv", sep="\t", keep_default_na=False)
    assert list(metrics.columns[:2]) == ["subject", "session"]
    assert {"desc", "structure", "label", "metric", "value"} <= set(metrics.columns)
    # 5 scored images x 16 structures x 7 metrics; sub-04 has no reference
    assert len(metrics) == 5 * 16 * 7 and 4 not in set(metrics["subject"])
    resampled = metrics[(metrics["subject"] == 3) & (metrics["metric"] == "dice")]
    assert (resampled["value"].astype(float) == 1.0).all()
    perfect = metrics[(metrics["desc"] == "synthseg") & (metrics["subject"] == 1) & (metrics["metric"] == "dice")]
    assert (perfect["value"].astype(float) == 1.0).all()
    empty = metrics[(metrics["structure"] == "Left-Accumbens-area") & (metrics["desc"] == "synthseg")
                    & (metrics["subject"] == 2)]
    assert set(empty.loc[empty["metric"].isin(["hd95", "hd", "assd"]), "value"]) == {float("inf")}
    assert "\tLeft-Accumbens-area\t26\thd95\tinf\tempty_prediction" in (group_dir / "metrics.tsv").read_text()
    assert set(empty["status"]) == {"empty_prediction"}


def test_summary_counts_exclusions(group_dir):
    summary = pd.read_csv(group_dir / "summary.tsv", sep="\t")
    assert list(summary.columns) == ["desc", "structure", "label", "metric", "mean", "sd", "median", "n",
                                     "n_excluded"]
    accumbens = summary[(summary["desc"] == "synthseg") & (summary["label"] == 26) & (summary["metric"] == "dice")]
    assert accumbens[["n", "n_excluded"]].values.tolist() == [[1, 1]]
    assert accumbens["mean"].item() == 1.0


def test_symmetry_flags_the_swapped_subject_only(group_dir):
    table = pd.read_csv(group_dir / "symmetry.tsv", sep="\t", dtype={"subject": str})
    flagged = table[table["hemisphere_swap"]]
    assert flagged[["subject", "desc"]].values.tolist() == [["02", "nnunet5"]]
    assert flagged["merged_dice"].item() == pytest.approx(1.0)
    pairs = pd.read_csv(group_dir / "symmetry_pairs.tsv", sep="\t")
    assert len(pairs) == 5 * 8


def test_volumes_cover_every_image_including_the_unmatched(group_dir):
    volumes = pd.read_csv(group_dir / "volumes.tsv", sep="\t", dtype={"subject": str})
    assert len(volumes) == 6 * 16
    resampled = volumes[volumes["subject"] == "04"].set_index("label")["volume_mm3"]
    reference = volumes[(volumes["subject"] == "01") & (volumes["desc"] == "synthseg")].set_index("label")
    np.testing.assert_allclose(resampled, reference["volume_mm3"])


def test_headline_and_report(group_dir):
    headline = pd.read_csv(group_dir / "headline.tsv", sep="\t")
    assert list(headline["desc"]) == ["nnunet5", "synthseg"]
    assert {"TestSet DSC", "TestSet HD95", "TestSet NSD"} <= set(headline.columns)
    markdown = (group_dir / "headline.md").read_text()
    assert "| synthseg |" in markdown and " *" in markdown and "\\* Leaves out" in markdown
    page = (group_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert page.count("data:image/png;base64,") >= 5  # 3 box plots, heat map, outlier slices
    assert "sub-04_desc-nnunet5_dseg.nii.gz" in page and "SWAP" in page


def test_two_processes_write_the_tables_of_one(dataset, group_dir, tmp_path):
    """The fixture's run on two processes (idle ones helping with the last maps) against one process."""
    raw, outputs, references = dataset
    single = shutil.copytree(outputs, tmp_path / "out", ignore=shutil.ignore_patterns("group"))
    run_group(group_config(bids_dir=raw, output_dir=single, descs=["nnunet5", "synthseg"], reference_dir=references,
                           reference_desc="aseg", participant_labels=None, tolerance_mm=2.0, nprocs=1))
    for name in ("metrics", "summary", "symmetry", "symmetry_pairs", "volumes", "folded_labels", "headline"):
        assert (single / "group" / f"{name}.tsv").read_bytes() == (group_dir / f"{name}.tsv").read_bytes(), name


def test_a_killed_scoring_process_is_a_one_line_error(dataset, tmp_path):
    """A worker killed from outside (as the system kills one for want of memory) stops the run with one line,
    and the tables of an earlier run are left as they were."""
    raw, outputs, references = dataset
    outputs = shutil.copytree(outputs, tmp_path / "out", ignore=shutil.ignore_patterns("group"))
    (outputs / "group").mkdir()
    (outputs / "group" / "metrics.tsv").write_text("earlier\n")
    stop = threading.Event()

    def kill_a_worker():
        while not stop.is_set():
            workers = multiprocessing.active_children()
            if workers:
                os.kill(workers[0].pid, signal.SIGKILL)
                return
            time.sleep(0.002)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    try:
        with pytest.raises(GroupError, match=r"^a scoring process was killed .*: rerun with fewer --nprocs than 2"):
            run_group(group_config(bids_dir=raw, output_dir=outputs, descs=["nnunet5", "synthseg"],
                                   reference_dir=references, reference_desc="aseg", participant_labels=None,
                                   nprocs=2))
    finally:
        stop.set()
        killer.join()
    assert (outputs / "group" / "metrics.tsv").read_text() == "earlier\n"


def test_prediction_on_another_grid_is_resampled_with_a_warning(dataset, tmp_path, caplog):
    raw, outputs, references = dataset
    outputs = shutil.copytree(outputs, tmp_path / "out")
    run_group(group_config(bids_dir=raw, output_dir=outputs, descs=["nnunet5"], reference_dir=references,
                           reference_desc="aseg", participant_labels=["03"]))
    assert "sub-03_desc-nnunet5_dseg.nii.gz: not on its reference's grid" in caplog.text


def test_outputs_without_label_maps_are_refused(tmp_path):
    outputs = _derivatives(tmp_path / "out", "subseg")
    with pytest.raises(GroupError, match="no \\*_dseg.nii.gz"):
        run_group(group_config(bids_dir=tmp_path, output_dir=outputs, descs=None, reference_dir=None,
                               reference_desc=None, participant_labels=None))


def test_reference_folder_without_description_is_refused(dataset, tmp_path):
    raw, outputs, _ = dataset
    with pytest.raises(GroupError, match="no dataset_description.json"):
        run_group(group_config(bids_dir=raw, output_dir=outputs, descs=None, reference_dir=tmp_path,
                               reference_desc="aseg", participant_labels=None))


@pytest.mark.parametrize("table", ["index\tname\nn/a\tLeft-Hippocampus\n", "label\tname\n17\tLeft-Hippocampus\n",
                                   "index\tname\n17\tLeft-Hippocampus\n53\n\n1\xff\n"])
def test_a_lookup_table_without_integer_indices_is_refused(dataset, tmp_path, table):
    raw, outputs, _ = dataset
    outputs = shutil.copytree(outputs, tmp_path / "out")
    (outputs / "dseg.tsv").write_bytes(table.encode("latin-1"))
    with pytest.raises(LookupTableError, match=r"out/dseg.tsv: not a lookup table of label numbers"):
        run_group(group_config(bids_dir=raw, output_dir=outputs, descs=["synthseg"], reference_dir=None,
                               reference_desc=None, participant_labels=["sub-01"]))


def test_volumes_only_without_references(dataset, tmp_path):
    raw, outputs, _ = dataset
    outputs = shutil.copytree(outputs, tmp_path / "out")
    run_group(group_config(bids_dir=raw, output_dir=outputs, descs=["synthseg"], reference_dir=None,
                           reference_desc=None, participant_labels=["sub-01"]))
    volumes = pd.read_csv(outputs / "group" / "volumes.tsv", sep="\t")
    assert len(volumes) == 16 and (outputs / "group" / "report.html").is_file()
