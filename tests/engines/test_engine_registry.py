"""The engine registry: the built-in engines follow the contract, and an engine from outside the package,
registered through the ``subseg.engines`` entry point, runs through the real command line and workflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import nibabel as nb
import numpy as np
import threshold_engine

from bids_app.engines import ENGINES, ENTRY_POINT_GROUP, option_defaults, option_names

REPO = Path(__file__).resolve().parents[2]


def test_built_in_engines_follow_the_contract():
    members = ("prepare", "model_labels", "from_options", "predict", "provenance")
    for name, spec in ENGINES.items():
        engine = spec.engine_class()
        assert all(callable(getattr(engine, member, None)) for member in members), name
        assert not isinstance(getattr(engine, "provenance"), property), name
        declared = {field.name for field in fields(spec.options)}
        assert {option.dest for option in spec.cli} <= declared, name


def test_every_engine_option_has_one_default():
    assert option_names() == ["model", "folds", "checkpoint", "parc", "synthseg_model", "robust", "fast", "qc",
                              "tta"]
    assert option_defaults()["checkpoint"] == "checkpoint_final.pth"


def _register(site: Path) -> None:
    """A minimal installed distribution whose entry point adds the threshold engine to the registry."""
    dist_info = site / "subseg_threshold-0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: subseg-threshold\nVersion: 0\n")
    entry_point = f"threshold = {threshold_engine.__name__}:SPEC"
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_point}\n")


def _subseg(args, site: Path, cwd: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(site), str(Path(__file__).parent), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "bids_app", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, timeout=600)


def test_a_registered_engine_runs_through_the_command_line(tmp_path):
    site = tmp_path / "site"
    _register(site)
    assert _subseg(["sample", "bids"], site, tmp_path).returncode == 0
    helped = _subseg(["--help"], site, tmp_path)
    assert "--threshold-fraction" in helped.stdout and "threshold" in helped.stdout

    run = _subseg(["bids", "out", "participant", "--participant-label", "01", "--engine", "threshold",
                   "--threshold-fraction", "0.3", "--nprocs", "1", "-w", "work"], site, tmp_path)
    assert run.returncode == 0, run.stderr

    anat = tmp_path / "out" / "sub-01" / "anat"
    dseg = nb.load(anat / "sub-01_desc-threshold_dseg.nii.gz")
    t1w = nb.load(tmp_path / "bids" / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    assert dseg.shape == t1w.shape and np.allclose(dseg.affine, t1w.affine)
    values = np.asanyarray(dseg.dataobj)
    assert set(np.unique(values).tolist()) == {0, 2, 41}
    data = np.asanyarray(t1w.dataobj)
    assert (values > 0).sum() == (data > 0.3 * data.max()).sum()  # reorienting to RAS and back is exact
    sidecar = json.loads((anat / "sub-01_desc-threshold_dseg.json").read_text())
    assert sidecar["Engine"] == "threshold" and sidecar["Fraction"] == 0.3
    assert sidecar["SubsegSettings"]["fraction"] == 0.3
    assert (tmp_path / "out" / "sub-01" / "anat" / "sub-01_desc-threshold_volumes.tsv").is_file()

    refused = _subseg(["bids", "out2", "participant", "--engine", "threshold", "--threshold-fraction", "2",
                       "-w", "work2"], site, tmp_path)
    assert refused.returncode == 1 and "--threshold-fraction 2.0: not between 0 and 1" in refused.stderr
