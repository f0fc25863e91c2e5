"""The README's train recipe runs as written on the sample dataset, one line of progress per epoch."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def train_block() -> str:
    """The fenced bash block of the README's train section that runs ``subseg ... train``."""
    section = REPO.joinpath("README.md").read_text().split("## Train level", 1)[1].split("\n## ", 1)[0]
    blocks = [block for block in re.findall(r"```bash\n(.*?)```", section, re.S) if "sample_bids" in block]
    assert len(blocks) == 1, "the train section needs one bash block on the sample dataset"
    return blocks[0]


def test_the_recipe_trains_on_the_sample_dataset():
    block = train_block()
    assert " train " in block and "sample_bids/derivatives/reference" in block


@pytest.mark.slow
def test_the_recipe_runs_as_written(sample_bids, tmp_path):
    shutil.copytree(sample_bids, tmp_path / "sample_bids")
    script = train_block().replace(".venv/bin/subseg", f"{sys.executable} -m bids_app")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the whole recipe, not only its shell
        raise
    result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    models = list((tmp_path / "sample_bids" / "derivatives" / "subseg" / "models").iterdir())
    assert len(models) == 1
    summary = json.loads((models[0] / "training.json").read_text())
    epochs = len(summary["epochs"])
    lines = [line for line in result.stderr.splitlines() if re.search(r"\| epoch \d+/\d+: train loss", line)]
    assert len(lines) == epochs, result.stderr[-3000:]
    assert re.search(rf"epoch {epochs}/{epochs}: train loss -?\d\.\d{{4}}, pseudo-Dice \d\.\d{{3}}, [\d.]+ s; "
                     rf"{epochs}/{epochs} epochs, ", lines[-1])
    assert "about" in lines[0] and "left" in lines[0]
