"""Run a :class:`MeshNet` layer by layer in slabs, so a whole head fits in a few GB.

Activations are kept channels-last (faster dilated convolutions on CPU, contiguous slabs). Each convolution
is computed slab by slab along the first spatial axis (each slab reads its dilation's worth
of neighbouring planes), into one preallocated output; instance normalisation then uses the statistics of the
whole output, as brainchop does. The last layer is never stored whole: each thinner slab goes straight to
argmax (and, when asked, softmax posteriors summed into output groups), or to the caller
(:func:`posterior_slabs`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...utils.torch_conv import channels_last, conv3d
from .network import NORM_EPSILON, ConvStep, MeshNet

#: Planes per slab along the first axis: small enough to bound temporaries, large enough to keep oneDNN busy.
SLAB = 32
#: Planes per slab of the last layer: its many output channels (104 for aparc+aseg) make its slab, its softmax
#: and their sums the largest temporaries of a run.
LAST_SLAB = 8


def features(network: MeshNet, volume: torch.Tensor, slab: int = SLAB) -> torch.Tensor:
    """Output (1, C, D, H, W) of every layer but the last, for a (D, H, W) float32 ``volume``."""
    x = channels_last(volume[None, None])
    for step in network.steps[:-1]:
        x = _apply(step, x, slab)
    return x


def logits(network: MeshNet, volume: torch.Tensor, slab: int = SLAB) -> torch.Tensor:
    """The network's output (1, classes, D, H, W) for a (D, H, W) ``volume``; for small volumes and tests."""
    with torch.inference_mode():
        return _apply(network.steps[-1], features(network, volume, slab), slab)


def classify(
    network: MeshNet, volume: torch.Tensor, groups: torch.Tensor | None = None, slab: int = SLAB
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Argmax class (D, H, W) of ``volume``; with ``groups``, also softmax posteriors summed by group.

    ``groups`` holds, for each class, the index of the output map its posterior is added to; the posteriors
    come back as (n_groups, D, H, W) float32.
    """
    with torch.inference_mode():
        labels = torch.empty(volume.shape, dtype=torch.int64, device=volume.device)
        posteriors = None
        if groups is not None:
            groups = groups.to(volume.device)
            posteriors = torch.zeros((int(groups.max()) + 1, *volume.shape), device=volume.device)
        for start, scores in _score_slabs(network, volume, slab):
            stop = start + scores.shape[1]
            labels[start:stop] = scores.argmax(0)
            if posteriors is not None:
                posteriors[:, start:stop].index_add_(0, groups, torch.softmax(scores, 0))
        return labels, posteriors


@torch.inference_mode()
def posterior_slabs(network: MeshNet, volume: torch.Tensor, groups: torch.Tensor, slab: int = SLAB):
    """Yield ``(start, posteriors)`` along the first axis of ``volume``: softmax posteriors summed by ``groups``
    (as in :func:`classify`), (n_groups, planes, H, W) for planes ``start:start + planes``, never the whole."""
    groups = groups.to(volume.device)
    n_groups = int(groups.max()) + 1
    for start, scores in _score_slabs(network, volume, slab):
        posteriors = torch.zeros((n_groups, *scores.shape[1:]), device=scores.device)
        yield start, posteriors.index_add_(0, groups, torch.softmax(scores, 0))


def _score_slabs(network: MeshNet, volume: torch.Tensor, slab: int):
    """Yield ``(start, scores)``: the last layer's activated output (classes, planes, H, W), slab by slab."""
    hidden = features(network, volume, slab)
    last = network.steps[-1]
    depth = hidden.shape[2]
    for start in range(0, depth, LAST_SLAB):
        scores = _conv_slab(last, hidden, start, min(depth, start + LAST_SLAB))
        yield start, last.activate_after(last.activate_inline(scores))[0]


def _apply(step: ConvStep, x: torch.Tensor, slab: int) -> torch.Tensor:
    depth = x.shape[2]
    out = torch.empty(
        (1, step.conv.out_channels, *x.shape[2:]), dtype=x.dtype, device=x.device,
        memory_format=torch.channels_last_3d,
    )
    for start in range(0, depth, slab):
        stop = min(depth, start + slab)
        y = step.activate_inline(_conv_slab(step, x, start, stop))
        out[:, :, start:stop] = y if step.normalise else step.activate_after(y)
    if step.normalise:
        _normalise_and_activate(step, out, slab)
    return out


def _normalise_and_activate(step: ConvStep, out: torch.Tensor, slab: int) -> None:
    """Instance normalisation over the whole volume, then the step's activations, in place, slab by slab."""
    # Channels-last (1, C, D, H, W) is a (D*H*W, C) matrix in memory: one row per voxel.
    rows = out.permute(0, 2, 3, 4, 1).reshape(-1, out.shape[1])
    variance, mean = torch.var_mean(rows, dim=0, correction=0)
    inverse_std = torch.rsqrt(variance + NORM_EPSILON)
    shift = -mean * inverse_std
    plane = out.shape[3] * out.shape[4]
    for start in range(0, out.shape[2], slab):
        piece = rows[start * plane:(start + slab) * plane]
        piece.copy_(step.activate_after(torch.addcmul(shift, piece, inverse_std)))


def _conv_slab(step: ConvStep, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Convolution output for planes ``start:stop`` of the first spatial axis, zero-padded at the true edges."""
    conv = step.conv
    halo = conv.padding[0]
    first, last = max(0, start - halo), min(x.shape[2], stop + halo)
    piece = x[:, :, first:last]
    missing_before, missing_after = halo - (start - first), halo - (last - stop)
    if missing_before or missing_after:
        piece = F.pad(piece, (0, 0, 0, 0, missing_before, missing_after))
    return conv3d(piece, conv.weight, conv.bias, padding=(0, *conv.padding[1:]), dilation=conv.dilation)
