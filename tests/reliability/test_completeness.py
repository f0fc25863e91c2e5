"""Complete or redone: after a kill or a deleted output, a rerun restores exactly what an uninterrupted run wrote."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

STEM = "sub-01_desc-meshnet"


def run_subseg(out: Path, bids: Path, work: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bids_app", bids, out, "participant", "-w", work,
                           "--participant-label", "01", "--nprocs", "1", "--omp-nthreads", "2", "--no-tta"],
                          capture_output=True, text=True)


def snapshot(out: Path) -> dict[str, str]:
    """SHA-256 of every output of sub-01, and of its manifest."""
    files = sorted((out / "sub-01").rglob("*")) + sorted((out / "logs" / "outputs").glob("*"))
    return {path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files if path.is_file()}


@pytest.fixture(scope="module")
def uninterrupted(sample_bids, tmp_path_factory):
    """One uninterrupted run of sub-01 (MeshNet): its output folder, work folder and outputs' checksums."""
    out = tmp_path_factory.mktemp("complete") / "out"
    work = out.parent / "work"
    result = run_subseg(out, sample_bids, work)
    assert result.returncode == 0, result.stderr
    expected = snapshot(out)
    manifest = json.loads((out / "logs" / "outputs" / f"{STEM}_dseg.json").read_text())
    assert set(manifest["Files"]) == {name for name in expected if name.startswith("sub-01/")}
    assert {f"sub-01/anat/{STEM}_dseg.nii.gz", f"sub-01/anat/{STEM}_volumes.tsv",
            f"sub-01/figures/{STEM}_report.html", "sub-01/anat/sub-01_desc-brain_mask.nii.gz"} <= set(expected)
    return out, work, expected


@pytest.mark.slow
@pytest.mark.parametrize("removed", [
    ["logs/outputs/sub-01_desc-meshnet_dseg.json"],  # killed just before the manifest
    [f"sub-01/anat/{STEM}_volumes.tsv", f"sub-01/figures/{STEM}_dseg.png", f"sub-01/figures/{STEM}_report.html",
     "sub-01/anat/sub-01_desc-brain_mask.nii.gz", "logs/outputs/sub-01_desc-meshnet_dseg.json"],  # after dseg.json
    [f"sub-01/anat/{STEM}_dseg.nii.gz"],  # deleted by hand
    [f"sub-01/anat/{STEM}_volumes.tsv"],  # deleted by hand
], ids=["manifest", "after-dseg-sidecar", "dseg", "volumes"])
def test_rerun_restores_what_is_missing(uninterrupted, sample_bids, removed):
    out, work, expected = uninterrupted
    for relative in removed:
        (out / relative).unlink()
    result = run_subseg(out, sample_bids, work)
    assert result.returncode == 0, result.stderr
    assert "up to date, kept" not in result.stderr
    assert snapshot(out) == expected


@pytest.mark.slow
def test_changed_output_is_redone(uninterrupted, sample_bids):
    out, work, expected = uninterrupted
    (out / f"sub-01/anat/{STEM}_volumes.tsv").write_text("structure\tlabel\n")  # a half-written file
    result = run_subseg(out, sample_bids, work)
    assert result.returncode == 0 and "missing or changed" in result.stderr
    assert snapshot(out) == expected


@pytest.mark.slow
def test_killed_run_is_finished_by_a_rerun(uninterrupted, sample_bids, tmp_path):
    """SIGKILL as soon as the label map's sidecar is written, then a rerun: the same outputs as uninterrupted."""
    _, work, expected = uninterrupted
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "bids_app", sample_bids, out, "participant", "-w", work,
                                "--participant-label", "01", "--nprocs", "1", "--omp-nthreads", "2", "--no-tta"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sidecar = out / "sub-01" / "anat" / f"{STEM}_dseg.json"
    deadline = time.monotonic() + 600
    while not sidecar.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert sidecar.exists()
    result = run_subseg(out, sample_bids, work)
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == expected
