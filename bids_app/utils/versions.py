"""Versions of subseg and of the libraries that shape its outputs, for sidecars and model folders."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from .. import __version__


def software_versions() -> dict:
    """Versions of subseg and the libraries that shape its outputs."""
    versions = {"subseg": __version__, "python": platform.python_version()}
    for package in ("torch", "nnunetv2", "nibabel", "nipype", "numpy", "scipy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions
