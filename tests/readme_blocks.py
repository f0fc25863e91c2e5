"""The README's shell blocks marked ``<!-- readme-test: sample -->``, and how to run one as written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = "<!-- readme-test: sample -->"
INSTALL = "bash scripts/install.sh && "


def sample_blocks() -> list[str]:
    """The shell block right after each marker, in README order."""
    text = (REPO / "README.md").read_text()
    return re.findall(re.escape(MARKER) + r"\s*```bash\n(.*?)```", text, flags=re.S)


def run_block(command: str, folder: Path, env=None, timeout=3600) -> None:
    """One block under ``bash -euo pipefail`` in ``folder``; its output in the failure message."""
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


def train_commands() -> list[str]:
    """The two commands of the README's train recipe on the sample dataset: train, then participant."""
    section = (REPO / "README.md").read_text().split("## Train level", 1)[1].split("\n## ", 1)[0]
    blocks = [block for block in re.findall(r"```bash\n(.*?)```", section, re.S) if "sample_bids" in block]
    assert len(blocks) == 1, "the train section needs one bash block on the sample dataset"
    return [line for line in blocks[0].splitlines() if line.strip()]


def run_command(command: str, folder: Path, timeout=1800) -> subprocess.CompletedProcess:
    """One README command with ``.venv/bin/subseg`` as this Python's ``-m bids_app``, in its own process group
    (killed whole on timeout); its stderr kept."""
    import os
    import signal
    import sys

    command = command.replace(".venv/bin/subseg", f"{sys.executable} -m bids_app")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], cwd=folder, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the whole command, not only its shell
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
