"""Read nnU-Net checkpoints as data: ``torch.load(weights_only=True)`` with the few types they hold.

A ``.pth`` file is a pickle; loaded with ``weights_only=False`` it can run any code it names. The unpickler of
``weights_only=True`` builds only tensors, containers and numbers, plus the globals allowed here: the types an
nnU-Net trainer stores in ``save_checkpoint`` beyond those (the numpy scalars of its training log). Anything
else is refused with one line, before it runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SubsegError


class CheckpointError(SubsegError, ValueError):
    """A checkpoint that cannot be read, or holds more than nnU-Net's data (one line naming the file)."""


def allowed_globals() -> list:
    """The globals an nnU-Net checkpoint needs beyond torch's own allow-list: numpy scalars and their dtypes.

    ``logging`` and ``_best_ema`` hold numpy scalars (float32 in a checkpoint of nnU-Net's trainer, float64
    where a value is computed in double); ``torch.device`` (``init_args``) and the tensors are on torch's
    default list. Found by loading a real checkpoint (tests/reliability/test_checkpoints.py).
    """
    import numpy as np

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar
    return [scalar, np.dtype, type(np.dtype("float32")), type(np.dtype("float64"))]


def load_checkpoint(path) -> dict:
    """The dict stored in the nnU-Net checkpoint ``path``, read without running code from it."""
    import pickle

    import torch

    path = Path(path)
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        named = re.search(r"GLOBAL ([\w.]+)", str(error))
        if named:
            raise CheckpointError(f"{path}: refused, it names {named.group(1)}, which is code or an object that "
                                  f"is not model data") from None
        raise CheckpointError(f"{path}: cannot read checkpoint (UnpicklingError)") from None
    except Exception as error:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot read checkpoint ({error.__class__.__name__})") from None
    if not isinstance(checkpoint, dict) or "network_weights" not in checkpoint:
        raise CheckpointError(f"{path}: not an nnU-Net checkpoint (no network_weights)")
    return checkpoint
