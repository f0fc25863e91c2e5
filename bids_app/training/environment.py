"""nnU-Net's folders and switches, which it only reads from environment variables, set for one block."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

#: Subfolders of a training work dir, by nnU-Net environment variable.
FOLDERS = {"nnUNet_raw": "raw", "nnUNet_preprocessed": "preprocessed", "nnUNet_results": "results"}


@contextmanager
def environ(**values: str):
    """Set environment variables for the block; restore the previous values afterwards."""
    previous = {variable: os.environ.get(variable) for variable in values}
    os.environ.update({variable: str(value) for variable, value in values.items()})
    try:
        yield
    finally:
        for variable, value in previous.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


@contextmanager
def nnunet_environment(work_dir):
    """Point nnU-Net's raw, preprocessed and results folders into ``work_dir`` for the block.

    Enter it before importing nnU-Net modules that read the variables: older nnunetv2 releases read them at
    import time. Worker processes that nnU-Net spawns inside the block inherit them.
    """
    folders = {variable: Path(work_dir) / folder for variable, folder in FOLDERS.items()}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    with environ(**{variable: str(folder) for variable, folder in folders.items()}):
        yield folders
