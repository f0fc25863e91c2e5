"""3D convolutions that take PyTorch's fast CPU path (oneDNN) whatever the tensor sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last memory order, with channels-last strides even for a single channel.

    ``x.contiguous(memory_format=torch.channels_last_3d)`` returns a one-channel tensor unchanged, whose strides
    oneDNN then reads as NCDHW: the first convolution would write NCDHW, and every later layer convert it.
    """
    return torch.empty_like(x, memory_format=torch.channels_last_3d).copy_(x)


def conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding, dilation=1) -> torch.Tensor:
    """``F.conv3d`` (stride 1, one group), through oneDNN for float32 on CPU.

    PyTorch sends a batch-1 convolution to its slow im2col path (``slow_conv3d``) when N*C*D*H <= 20480, a
    heuristic written for 2D images that ignores W: single-channel inputs and small volumes fall there.
    """
    padding = (padding,) * 3 if isinstance(padding, int) else tuple(padding)
    dilation = (dilation,) * 3 if isinstance(dilation, int) else tuple(dilation)
    if x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
        return torch.mkldnn_convolution(x, weight, bias, padding, (1, 1, 1), dilation, 1)
    return F.conv3d(x, weight, bias, padding=padding, dilation=dilation)
