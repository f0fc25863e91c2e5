"""``--nipype-plugin SLURM`` / ``SLURMGraph`` on a real one-node SLURM cluster: every nipype node is an sbatch
job, the jobs run the same Python as the submitting ``subseg``, and the derivatives equal MultiProc's.

The tiny real nnU-Net of the test suite segments (three segmentations on the cluster take a few minutes on 2
cores); the MultiProc reference is the CLI test's run of the same model (``tiny_nnunet_run``). CI runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nibabel as nb
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slurm
#: The fixtures of the one-node cluster.
pytest_plugins = ["slurm_helpers"]

#: A skull-stripped head and the raw head with its skull (whose outputs the toy model may get flagged).
SUBJECTS = ("01", "03")
#: nipype writes this before the command of every job script; the test checks it reached the jobs.
TEMPLATE = "#!/bin/bash\n#SBATCH --export=ALL\nexport OMP_NUM_THREADS=1\necho subseg-job-template\n"


@pytest.fixture(scope="module")
def two_t1w(sample_bids, tmp_path_factory) -> Path:
    """The sample dataset with sub-01 and sub-03 ses-1: two T1w images (sub-02 and sub-03's ses-2 left out)."""
    def leave_out(folder, names):
        if Path(folder) == sample_bids:
            return ["sub-02", "derivatives"]
        return ["ses-2"] if Path(folder).name == "sub-03" else []

    bids = tmp_path_factory.mktemp("slurm_bids") / "bids"
    shutil.copytree(sample_bids, bids, ignore=leave_out)
    participants = pd.read_csv(bids / "participants.tsv", sep="\t", dtype=str)
    participants[participants["participant_id"] != "sub-02"].to_csv(bids / "participants.tsv", sep="\t", index=False)
    sessions = bids / "sub-03" / "sub-03_sessions.tsv"
    if sessions.is_file():
        table = pd.read_csv(sessions, sep="\t", dtype=str)
        table[table["session_id"] != "ses-2"].to_csv(sessions, sep="\t", index=False)
    assert len(list(bids.rglob("*_T1w.nii.gz"))) == 2
    return bids


@pytest.fixture(scope="module")
def model(tiny_nnunet_model) -> tuple[str, str]:
    """The model options every run of this module uses (those of the reference run)."""
    return ("--model", str(tiny_nnunet_model), "--desc", "tiny")


def subseg(bids: Path, out: Path, work: Path, *options: str, env=None, participants=SUBJECTS):
    """Run ``python -m bids_app participant`` (the venv's Python) and return the finished process.

    ``LOGNAME`` is left out of the environment, as under ``docker run``, cron and many CI runners: nipype's
    SLURM plugin names jobs after it, and subseg must not depend on it being set.
    """
    env = {key: value for key, value in (env or os.environ).items() if key != "LOGNAME"}
    command = [sys.executable, "-m", "bids_app", str(bids), str(out), "participant",
               "--participant-label", *participants, "-w", str(work), "--omp-nthreads", "1", *options]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)


def watch_queue(cluster, stop: threading.Event, seen: dict) -> None:
    """Record every job squeue shows (id -> name) until ``stop`` is set."""
    while not stop.is_set():
        for line in cluster.squeue().splitlines():
            job_id, name, _state = (line.split(" ", 2) + ["", ""])[:3]
            seen[job_id] = name
        stop.wait(1)


def outputs(out: Path) -> dict[str, Path]:
    """The label maps, masks and volume tables under ``out``, by file name."""
    return {path.name: path for pattern in ("*_dseg.nii.gz", "*_mask.nii.gz", "*_volumes.tsv")
            for path in sorted(out.glob(f"sub-*/**/anat/{pattern}"))}


def assert_same_outputs(expected: dict[str, Path], got: dict[str, Path]) -> None:
    assert sorted(got) == sorted(expected)
    for name, path in expected.items():
        if name.endswith(".tsv"):
            pd.testing.assert_frame_equal(pd.read_csv(got[name], sep="\t"), pd.read_csv(path, sep="\t"))
        else:
            a, b = nb.load(path), nb.load(got[name])
            assert np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)), name
            assert np.allclose(a.affine, b.affine), name


def assert_finished(result, out: Path) -> None:
    """The run ended as it should: exit 0, or 1 when (and only when) plausibility checks flagged outputs.

    The toy model (two skull-stripped heads, 750 iterations) may over-segment sub-03's raw head: such outputs are
    kept, flagged in their sidecars and count as failures; sub-01 must pass.
    """
    flagged = {path.name for path in out.glob("sub-*/**/anat/*_dseg.json")
               if json.loads(path.read_text()).get("QualityFlags")}
    assert not any(name.startswith("sub-01_") for name in flagged), flagged
    assert result.returncode == (1 if flagged else 0), result.stderr[-4000:]
    assert result.stderr.count("flagged as implausible:") == len(flagged), result.stderr[-4000:]


@pytest.fixture(scope="module")
def multiproc_run(tiny_nnunet_run) -> dict[str, Path]:
    """The reference: the outputs of the same images (and sub-03's second session) with the default MultiProc
    plugin, as the CLI test of the tiny model runs them."""
    result, out = tiny_nnunet_run
    assert_finished(result, out)
    found = {name: path for name, path in outputs(out).items() if "_ses-2_" not in name}
    assert len([name for name in found if name.endswith("_dseg.nii.gz")]) == 2, sorted(found)
    return found


def test_slurm_plugin_matches_multiproc(slurm_cluster, two_t1w, multiproc_run, model, tmp_path):
    plugin_args = {"sbatch_args": "--partition=debug --cpus-per-task=1", "template": TEMPLATE,
                   "max_tries": 2, "retry_timeout": 2}
    seen: dict[str, str] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_queue, args=(slurm_cluster, stop, seen), daemon=True)
    before = len(slurm_cluster.jobcomp())
    started = time.monotonic()
    watcher.start()
    try:
        result = subseg(two_t1w, tmp_path / "out", tmp_path / "work", "--nipype-plugin", "SLURM",
                        "--nipype-plugin-args", json.dumps(plugin_args), *model, env=slurm_cluster.env)
    finally:
        stop.set()
        watcher.join()
    print(f"\nSLURM, 2 images: {time.monotonic() - started:.0f} s, {len(seen)} jobs seen in squeue")
    assert_finished(result, tmp_path / "out")

    # The jobs ran on the cluster: seen in squeue, completed in the job completion log, one per node.
    jobs = slurm_cluster.jobcomp()[before:]
    assert jobs and all(job["JobState"] == "COMPLETED" for job in jobs), jobs
    assert set(seen) <= {job["JobId"] for job in jobs}
    for subject in SUBJECTS:
        assert any(f"sub_{subject}" in job["Name"] for job in jobs), f"no job for sub-{subject}"
    state = subprocess.run(["scontrol", "show", "job", jobs[-1]["JobId"]], env=slurm_cluster.env,
                           capture_output=True, text=True).stdout
    assert not state or "JobState=COMPLETED" in state

    # Every job script is the template plus the submitting Python.
    scripts = sorted((tmp_path / "work").rglob("batchscript_*.sh"))
    assert len(scripts) == len(jobs)
    for script in scripts:
        text = script.read_text()
        assert text.startswith(TEMPLATE.rstrip("\n")) and sys.executable in text, text
    logs = sorted((tmp_path / "work").rglob("slurm-*.out"))
    assert logs and all("subseg-job-template" in log.read_text() for log in logs)

    assert_same_outputs(multiproc_run, outputs(tmp_path / "out"))


def test_slurmgraph_plugin_matches_multiproc(slurm_cluster, two_t1w, multiproc_run, model, tmp_path):
    """SLURMGraph submits the whole graph (with dependencies) at once; the outputs come once the queue drains."""
    plugin_args = {"sbatch_args": "--partition=debug --cpus-per-task=1", "template": TEMPLATE}
    before = len(slurm_cluster.jobcomp())
    started = time.monotonic()
    result = subseg(two_t1w, tmp_path / "out", tmp_path / "work", "--nipype-plugin", "SLURMGraph",
                    "--nipype-plugin-args", json.dumps(plugin_args), *model, env=slurm_cluster.env,
                    participants=("01",))
    assert result.returncode == 0, result.stderr[-4000:]
    print("\nsubseg with SLURMGraph said:\n" + result.stderr[-1500:])
    slurm_cluster.wait_idle(timeout=1800)
    print(f"\nSLURMGraph, 1 image: {time.monotonic() - started:.0f} s")

    # SLURMGraph names its jobs j<index>_<node>: one job per node script, all completed.
    jobs = slurm_cluster.jobcomp()[before:]
    assert jobs and all(job["JobState"] == "COMPLETED" for job in jobs), jobs
    assert all(re.match(r"j\d+_", job["Name"]) for job in jobs), [job["Name"] for job in jobs]
    assert len(jobs) == len(list((tmp_path / "work").rglob("batchscript_*.sh")))
    expected = {name: path for name, path in multiproc_run.items() if name.startswith("sub-01_")}
    assert_same_outputs(expected, outputs(tmp_path / "out"))
