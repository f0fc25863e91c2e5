"""Choose the torch device once, log the choice, fail clearly when CUDA is asked for and missing."""

from __future__ import annotations

import logging

from ..errors import SubsegError

LOGGER = logging.getLogger("subseg")


class DeviceUnavailableError(SubsegError, RuntimeError):
    """``--device cuda`` on a machine without a usable GPU."""


def select_device(requested: str = "auto", nthreads: int | None = None):
    """Return a :class:`torch.device` for ``auto``, ``cpu`` or ``cuda``; set torch's CPU threads."""
    import torch

    if nthreads:
        torch.set_num_threads(int(nthreads))
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {requested!r}")
    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise DeviceUnavailableError("--device cuda was requested but torch sees no CUDA GPU")
    device = torch.device("cuda" if requested == "cuda" or (requested == "auto" and has_cuda) else "cpu")
    if device.type == "cuda":
        LOGGER.info("Using GPU %s", torch.cuda.get_device_name(device))
    else:
        LOGGER.info("Using CPU with %d threads", torch.get_num_threads())
    return device
