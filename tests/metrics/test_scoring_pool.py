"""Scoring maps on several processes, idle ones helping with the structures of maps still being scored."""

from __future__ import annotations

import dataclasses
import itertools
import os

import nibabel as nb
import numpy as np
import pytest

from bids_app.metrics.label_maps import LabelMapError, file_stamp
from bids_app.metrics.scoring_pool import StructureCounters, _map_to_help, _merged, score_maps
from bids_app.metrics.subject import ImageJob, load_kernels, score_or_reason, score_structures


@pytest.fixture(scope="module")
def shifted_pair(shared_data, tmp_path_factory):
    """fsaverage's 1 mm aseg as reference, and that aseg shifted by 3 voxels with one hippocampus removed as
    prediction: a real 256^3 map whose scoring takes about a second."""
    folder = tmp_path_factory.mktemp("pool")
    image = nb.load(shared_data / "fsaverage" / "aseg.mgz")
    aseg = np.asarray(image.dataobj).astype(np.int16)
    prediction = np.roll(aseg, (3, 2), axis=(0, 1))
    prediction[prediction == 17] = 0
    paths = []
    for name, data in (("reference", aseg), ("prediction", prediction)):
        paths.append(folder / f"{name}.nii.gz")
        nb.Nifti1Image(data, image.affine).to_filename(paths[-1])
    return ImageJob(paths[1], paths[0], {"subject": "01"}, tolerance_mm=1.0)


def test_counters_hand_each_structure_out_once():
    counters = StructureCounters(2)
    ordered = [3, 42, 2, 41, 17]
    assert counters.left(1) == 0  # not loaded yet: nothing to help with
    owner, helper = counters.draw(1)(ordered), counters.draw(1)(ordered)
    taken = [next(owner), next(owner), next(helper), next(owner)]
    assert counters.left(1) == 1 and counters.left(0) == 0
    taken += list(helper) + list(owner)
    assert taken == ordered and counters.left(1) == 0


def test_structures_shared_with_a_helper_score_as_one_process(shifted_pair):
    """A helper takes the three largest structures; with the owner's rows, the map's rows are those of one
    process, in the same order."""
    counters = StructureCounters(1)
    draw = counters.draw(0)
    helper_rows = score_structures(shifted_pair, lambda ordered: itertools.islice(draw(ordered), 3))
    voxels = sum(np.bincount(np.asarray(nb.load(path).dataobj).ravel(), minlength=2**12)
                 for path in (shifted_pair.prediction, shifted_pair.reference))
    voxels[[0, 17]] = 0  # background; Left-Hippocampus, absent from the prediction, is not scored
    assert {row["label"] for row in helper_rows} == set(np.argsort(voxels)[-3:].tolist())
    owner = score_or_reason(shifted_pair, counters.draw(0))
    alone = score_or_reason(shifted_pair)
    assert len(owner[0]["metrics"]) == len(alone[0]["metrics"]) - 3 * 7
    assert repr(_merged(shifted_pair, owner, [(helper_rows, None)], counters.totals[0])) == repr(alone)


def test_a_map_missing_structures_is_not_reported(shifted_pair):
    """Rows lost with a helper (its map changed on disk meanwhile) refuse the map rather than leave gaps."""
    counters = StructureCounters(1)
    draw = counters.draw(0)
    list(itertools.islice(draw(list(range(40))), 2))  # two structures taken, never reported
    owner = score_or_reason(shifted_pair, counters.draw(0))
    rows, reason = _merged(shifted_pair, owner, [], counters.totals[0])
    assert rows is None and "structures were scored; not reported" in reason
    unreadable = f"{shifted_pair.prediction}: unreadable label map (truncated)"
    assert _merged(shifted_pair, score_or_reason(shifted_pair), [(None, unreadable)], 0) == (None, unreadable)


def test_a_helper_refuses_a_map_rewritten_since_its_owner_read_it(shifted_pair):
    """Rows from two versions of one file are never merged: the helper reads the file's stamp again."""
    job = dataclasses.replace(shifted_pair, stamp=file_stamp(shifted_pair.prediction, shifted_pair.reference))
    counters = StructureCounters(1)
    owner = score_or_reason(job, lambda ordered: itertools.islice(counters.draw(0)(ordered), 3))
    assert owner[1] is None
    status = shifted_pair.prediction.stat()
    os.utime(shifted_pair.prediction, ns=(status.st_atime_ns, status.st_mtime_ns + 1000))
    with pytest.raises(LabelMapError, match=r"prediction.nii.gz: it or its reference changed while the group"):
        score_structures(job, counters.draw(0))
    os.utime(shifted_pair.prediction, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert _merged(job, owner, [(None, "changed")], counters.totals[0]) == (None, "changed")


def test_an_idle_process_helps_where_each_process_would_have_most_left():
    counters = StructureCounters(3)
    for index, (total, taken) in enumerate([(40, 30), (40, 37), (40, 0)]):
        list(itertools.islice(counters.draw(index)(list(range(total))), taken))
    counters.totals[2] = -1  # map 2: still being loaded by its owner
    owners = {object(): (index, False) for index in range(3)}
    assert _map_to_help(owners, counters) == 0  # 10 left for one process, against 3 and unknown
    helped = owners | {object(): (0, True)}
    assert _map_to_help(helped, counters) == 0  # 10 left for two processes: 3.3 each with a third
    list(itertools.islice(counters.draw(0)(list(range(40))), 5))
    assert _map_to_help(helped, counters) is None  # 5 left for two: not worth loading the map a third time
    assert _map_to_help({object(): (1, False)}, counters) is None  # 3 left: 1.5 each


def test_maps_scored_on_two_processes_are_scored_as_on_one(shifted_pair, shared_data, tmp_path):
    """A quick map and a slow one on two processes: whether or not the first process's worker then helps
    with the second, every row is that of one process."""
    image = nb.load(shared_data / "fsaverage" / "aseg_2mm.mgz")
    quick = tmp_path / "quick.nii.gz"
    nb.Nifti1Image(np.asarray(image.dataobj).astype(np.int16), image.affine).to_filename(quick)
    jobs = [ImageJob(quick, quick, {"subject": "02"}), shifted_pair]
    load_kernels()
    told = []
    outcomes = score_maps(jobs, 2, lambda job, outcome: told.append(job) or outcome)
    assert repr(outcomes) == repr([score_or_reason(job) for job in jobs])  # repr: NaN equals NaN
    assert sorted(told, key=jobs.index) == jobs
