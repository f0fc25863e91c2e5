"""Checks made once, before any image is touched: the device and the template a run needs exist."""

from __future__ import annotations

from ..errors import SubsegError


class PreflightError(SubsegError):
    """Something every image needs is missing; nothing was started."""


def check_device(requested: str) -> None:
    """Refuse ``--device cuda`` where torch sees no GPU."""
    if requested != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise PreflightError("--device cuda: torch sees no CUDA GPU on this machine (use --device cpu or auto)")


def check_template(template: str | None) -> None:
    """Refuse ``--align-to`` a template whose T1w or brain mask is not on disk (no download at run time)."""
    if not template:
        return
    from .templates import TemplateNotFoundError, get_template_file

    try:
        get_template_file(template, resolution=1, suffix="T1w", desc=None)
        get_template_file(template, resolution=1, suffix="mask", desc="brain")
    except (TemplateNotFoundError, ValueError) as error:
        raise PreflightError(f"--align-to {template}: {error}") from None


def check_before_images(*, device: str, template: str | None) -> None:
    """Every check that holds for all images of a run, made once before the first."""
    check_device(device)
    check_template(template)
