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
