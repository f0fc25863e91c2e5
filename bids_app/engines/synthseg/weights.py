"""The SynthSeg weight files subseg knows, where they are cached, and how they get there.

The cache is ``$SUBSEG_HOME/models/synthseg`` (``SUBSEG_HOME`` defaults to ``$XDG_CACHE_HOME/subseg``, else
``~/.cache/subseg``). A container image fills it at build time (``subseg models fetch``/``import``) and sets
``SUBSEG_HOME`` to a folder outside ``$HOME``; nothing is downloaded when a participant is processed.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bids_app.errors import SubsegError
from bids_app.utils.atomic import atomic_copy, atomic_path
from bids_app.utils.checksums import git_blob_id, sha256_of

LOGGER = logging.getLogger("subseg")

#: Where the authors publish the 2.0 files (a shared folder to open in a browser; no direct link).
AUTHORS_FOLDER = ("https://liveuclac-my.sharepoint.com/:f:/g/personal/rmappmb_ucl_ac_uk/"
                  "EtlNnulBSUtAvOP6S99KcAIBYzze7jTPsmFk2_iHqKDjEw?e=rBP0RO")

#: The authors' repository at the commit whose ``models/synthseg_1.0.h5`` is fetched (a direct link).
AUTHORS_REPOSITORY = "https://github.com/BBillot/SynthSeg/raw/66342c1f05e520f3729a6d7ca1042eb7f01b6266"


@dataclass(frozen=True)
class WeightsFile:
    """One published SynthSeg weights file, with what is known to check a copy of it."""

    name: str
    description: str
    size: int | None = None
    sha256: str | None = None
    url: str | None = None
    git_blob: str | None = None
    """Git's object id of the file in the authors' repository (``git hash-object``)."""
    kind: str = "segmentation"
    """Which network it holds: segmentation, robust, parcellation or qc."""


KNOWN: dict[str, WeightsFile] = {
    "synthseg_2.0.h5": WeightsFile(
        "synthseg_2.0.h5", "SynthSeg 2.0 segmentation (33 labels)", 53_079_152,
        "f190bfd742f450ef3ca2c9df9ed4d2e0232b3a74471da5e51b7770bacdf80c3e"),
    "synthseg_1.0.h5": WeightsFile(
        "synthseg_1.0.h5", "SynthSeg 1.0 segmentation (32 labels)",
        url=f"{AUTHORS_REPOSITORY}/models/synthseg_1.0.h5", git_blob="a28f57090fab43709a9024fc747e5c3725326454"),
    "synthseg_robust_2.0.h5": WeightsFile("synthseg_robust_2.0.h5", "SynthSeg-robust 2.0 segmentation",
                                          kind="robust"),
    "synthseg_parc_2.0.h5": WeightsFile("synthseg_parc_2.0.h5", "SynthSeg 2.0 cortical parcellation",
                                        kind="parcellation"),
    "synthseg_qc_2.0.h5": WeightsFile("synthseg_qc_2.0.h5", "SynthSeg 2.0 quality control (--qc)", kind="qc"),
}

#: ``subseg models fetch synthseg`` fetches this file unless told otherwise: the one with a direct link.
DEFAULT = "synthseg_1.0.h5"

#: The segmentation files ``--engine synthseg`` uses when none is named, best first: the first in the cache.
PREFERRED = ("synthseg_2.0.h5", "synthseg_1.0.h5")
#: ... and with ``--robust``.
ROBUST = "synthseg_robust_2.0.h5"


class WeightsNotFoundError(SubsegError, FileNotFoundError):
    """No weights where the engine looked; the message says how to get them."""


class WeightsChecksumError(SubsegError, ValueError):
    """A file whose size or sha256 is not the published one."""


def subseg_home() -> Path:
    """``$SUBSEG_HOME``, else ``$XDG_CACHE_HOME/subseg``, else ``~/.cache/subseg``."""
    if os.environ.get("SUBSEG_HOME"):
        return Path(os.environ["SUBSEG_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "subseg"


def cache_dir() -> Path:
    """The folder holding SynthSeg's weight files."""
    return subseg_home() / "models" / "synthseg"


def resolve(weights: str | os.PathLike | None = None, robust: bool = False) -> Path:
    """An existing file path, or a known file name looked up in the cache.

    None: the robust file when ``robust``, else the first of ``PREFERRED`` in the cache.
    """
    if weights is None and robust:
        weights = ROBUST
    if weights is None:
        present = [cache_dir() / name for name in PREFERRED if (cache_dir() / name).is_file()]
        if present:
            return present[0]
        raise WeightsNotFoundError(
            f"no SynthSeg weights in {cache_dir()} (looked for {' or '.join(PREFERRED)}): run "
            f"'subseg models fetch synthseg' on a machine with internet, or 'subseg models import FILE'")
    path = Path(weights)
    if path.is_file():
        return path
    cached = cache_dir() / path.name
    if cached.is_file():
        return cached
    raise WeightsNotFoundError(
        f"SynthSeg weights {path.name} not found (looked at {path} and in {cache_dir()}): run "
        f"'subseg models fetch synthseg' on a machine with internet, or 'subseg models import FILE'")


def kind_of(name: str) -> str:
    """The network a weights file holds: its known kind, else read from its name as the published ones are
    named (``*parc*``, ``*qc*``, ``*robust*``).

    >>> kind_of("synthseg_parc_2.0.h5"), kind_of("my_robust_copy.h5"), kind_of("synthseg_1.0.h5")
    ('parcellation', 'robust', 'segmentation')
    """
    if name in KNOWN:
        return KNOWN[name].kind
    return next((kind for word, kind in (("parc", "parcellation"), ("qc", "qc"), ("robust", "robust"))
                 if word in name), "segmentation")


def how_to_get(name: str) -> str:
    """Where a file without a direct link comes from, and how it gets into the cache."""
    return (f"get it from the authors' folder {AUTHORS_FOLDER} (or FreeSurfer >= 7.3.2, models/{name}), "
            f"then run 'subseg models import {name}'")


def verify(path: str | Path, name: str | None = None) -> str:
    """Check a file against the published size, sha256 and git object id of ``name`` (default: its own name)."""
    path = Path(path)
    known = KNOWN.get(name or path.name)
    digest = sha256_of(path)
    if known and known.size is not None and path.stat().st_size != known.size:
        raise WeightsChecksumError(
            f"{path}: {path.stat().st_size} bytes, but the published {known.name} has {known.size}")
    if known and known.sha256 and digest != known.sha256:
        raise WeightsChecksumError(f"{path}: sha256 {digest} differs from the published {known.name}")
    if known and known.git_blob and (blob := git_blob_id(path)) != known.git_blob:
        raise WeightsChecksumError(f"{path}: git object id {blob} differs from {known.name} in the authors' repository")
    return digest


def fetch(name: str = DEFAULT, url: str | None = None) -> Path:
    """Download ``name`` into the cache (from ``url`` or its official location) and check it."""
    known = KNOWN.get(name)
    if known is None:
        raise KeyError(f"unknown SynthSeg weights {name!r}: choose one of {', '.join(KNOWN)}")
    url = url or known.url
    if url is None:
        raise WeightsNotFoundError(f"{name} has no direct download link: {how_to_get(name)}")
    target = cache_dir() / name
    LOGGER.info("Downloading %s from %s", name, url)
    with atomic_path(target) as tmp:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as handle:
            for block in iter(lambda: response.read(1 << 20), b""):
                handle.write(block)
        verify(tmp, name)
    return target


def import_file(path: str | Path, name: str | None = None) -> Path:
    """Copy a weights file into the cache after checking it against the published checksum."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise WeightsNotFoundError(f"{path}: no such file")
    verify(path, name)
    return atomic_copy(path, cache_dir() / name)
