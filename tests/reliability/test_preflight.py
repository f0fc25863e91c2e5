"""Checks made once before any image: device, template, output location; a failed run leaves no folder."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bids_app.cli.parser import parse_args


def run_subseg(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bids_app", *map(str, args)], capture_output=True, text=True,
                          env=env)


def _one_error_line(result) -> str:
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_cuda_without_a_gpu_is_refused_before_any_image(sample_bids, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.fail("this check needs a machine without a CUDA GPU", pytrace=False)
    out, work = tmp_path / "out", tmp_path / "work"
    result = run_subseg(sample_bids, out, "participant", "--device", "cuda", "-w", work, "--participant-label", "03")
    assert "--device cuda: torch sees no CUDA GPU" in _one_error_line(result)
    assert not out.exists() and not work.exists()  # nothing started, no empty folder left


def test_missing_template_is_refused_before_any_image(sample_bids, tmp_path):
    import os

    home = tmp_path / "templateflow"
    home.mkdir()
    out, work = tmp_path / "out", tmp_path / "work"
    result = run_subseg(sample_bids, out, "participant", "--align-to", "MNI152NLin2009cAsym", "-w", work,
                        env={**os.environ, "TEMPLATEFLOW_HOME": str(home)})
    line = _one_error_line(result)
    assert "--align-to MNI152NLin2009cAsym" in line and str(home) in line
    assert not out.exists() and not work.exists()


def test_output_inside_the_raw_dataset_is_refused_unless_under_derivatives(sample_bids, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        parse_args([str(sample_bids), str(sample_bids / "subseg"), "participant", "-w", str(tmp_path / "w")])
    assert caught.value.code == 2 and "bids_dir/derivatives" in capsys.readouterr().err
    args = parse_args([str(sample_bids), str(sample_bids / "derivatives" / "subseg"), "participant",
                       "-w", str(tmp_path / "w")])
    assert args.output_dir == sample_bids / "derivatives" / "subseg"
