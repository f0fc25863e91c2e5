"""Helpers of the container tests: project metadata, commands, the host's pip certificates and torch wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGE = "subseg-test"
#: The user the container runs as when the tests run as root: no passwd entry, like ``singularity run``.
OTHER_UID = "1234:1234"


def project_metadata() -> dict:
    """``[project]`` of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def run(command, *, env=None, timeout=None, check=True, log=None) -> subprocess.CompletedProcess:
    """Run a command; on failure, fail the test with its output's tail."""
    result = subprocess.run([str(part) for part in command], env=env, timeout=timeout, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if log is not None:
        Path(log).write_text(result.stdout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command[:4]))} ... exited {result.returncode}:\n{result.stdout[-6000:]}",
                    pytrace=False)
    return result


# --- where the host's pip finds its certificates and the CPU torch wheel -------------------------------------

def _pip_config() -> dict[str, str]:
    """``pip config list`` as {key without section: value} (environment and files alike)."""
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                                timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    config = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        config.setdefault(key.rsplit(".", 1)[-1], value.strip().strip("'\""))
    return config


def host_ca_bundle() -> Path | None:
    """The CA bundle the host's pip trusts (PIP_CERT or pip's ``cert``), else OpenSSL's default."""
    import ssl

    candidates = [os.environ.get("PIP_CERT"), _pip_config().get("cert"), os.environ.get("SSL_CERT_FILE"),
                  ssl.get_default_verify_paths().cafile]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def local_torch_wheel() -> Path | None:
    """The wheel of the torch installed here, from the host's find-links folders (PIP_FIND_LINKS, pip config)."""
    from importlib.metadata import version

    installed = version("torch")
    folders = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), _pip_config().get("find-links")]))
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in folders.split():
        folder = Path(folder.removeprefix("file://"))
        if folder.is_dir():
            for wheel in sorted(folder.glob(f"torch-{installed}-{tag}-*.whl")):
                return wheel
    return None
