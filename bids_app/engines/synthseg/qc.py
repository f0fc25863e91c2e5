"""SynthSeg 2.0's quality control in PyTorch, as ``predict_synthseg.py`` builds it (``do_qc``).

The segmentation network's argmax (channel indices, on its padded grid) is cropped or zero-padded to a 224^3
box around the brain, mapped to structure groups (:data:`~.labels.QC_NAMES`) and one-hot encoded. neuron's
``conv_enc`` with residual connections (4 levels of two 5^3 convolutions, ReLU, batch normalisation, 2x max
pooling) and two more 5^3 convolutions regress a score per group (an estimate of its Dice), averaged over
space; scores are clipped to [0, 1] and rounded to 4 decimals, and group 0 (background, CSF) gets none.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bids_app.engines.synthseg.labels import QC_NAMES, qc_groups
from bids_app.engines.synthseg.network import KERAS_BN_EPSILON, conv3d
from bids_app.utils.torch_conv import channels_last

#: Side of the cube the quality-control network sees (``input_shape_qc``).
QC_SHAPE = 224
#: Argmax values the box around the brain ignores. SynthSeg's ``MakeShape`` compares the *channel index* with
#: 0 and 24 (CSF's label, not its channel: in 2.0, channel 24 is the right cerebellum cortex); kept as is,
#: since the published scores come from that box.
_OUTSIDE_BRAIN = (0, 24)


class QCNetwork(nn.Module):
    """neuron's ``conv_enc`` (``use_residuals=True``, ``batch_norm=-1``) and SynthSeg's regression head."""

    def __init__(self, n_groups: int = len(QC_NAMES) + 1, *, name: str = "qc", n_levels: int = 4,
                 n_features: int = 24, feat_mult: int = 2, conv_size: int = 5, convs_per_level: int = 2):
        super().__init__()
        self._keras = {}
        self.levels = nn.ModuleList()
        channels = n_groups
        for level in range(n_levels):
            features = round(n_features * feat_mult ** level)
            convs = nn.ModuleList()
            for conv in range(convs_per_level):
                convs.append(self._layer(f"{name}_conv_downarm_{level}_{conv}", nn.Conv3d(
                    channels if conv == 0 else features, features, conv_size, padding=conv_size // 2)))
            expand = None
            if channels > 1 and features > 1 and channels != features:
                expand = self._layer(f"{name}_expand_down_merge_{level}", nn.Conv3d(
                    channels, features, conv_size, padding=conv_size // 2))
            norm = self._layer(f"{name}_bn_down_{level}", nn.BatchNorm3d(features, eps=KERAS_BN_EPSILON))
            self.levels.append(nn.ModuleDict({"convs": convs, "bn": norm, **({"expand": expand} if expand else {})}))
            channels = features
        self.head = nn.ModuleList(
            self._layer(f"{name}_final_conv_{conv}", nn.Conv3d(
                channels if conv == 0 else n_groups, n_groups, conv_size, padding=conv_size // 2))
            for conv in range(2))

    def _layer(self, keras_name: str, module: nn.Module) -> nn.Module:
        self._keras[keras_name] = module
        return module

    def keras_layers(self) -> dict[str, nn.Module]:
        """Keras layer name -> the module holding its weights."""
        return dict(self._keras)

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        """Raw scores (N, groups) of one-hot structure groups (N, groups, D, H, W)."""
        x = channels_last(groups)
        for level in self.levels:
            first = x
            *convs, last = level["convs"]
            for conv in convs:
                x = F.relu_(conv3d(x, conv.weight, conv.bias))
            x = conv3d(x, last.weight, last.bias)
            shortcut = first if "expand" not in level else F.relu_(
                conv3d(first, level["expand"].weight, level["expand"].bias))
            x = level["bn"](F.relu_(x.add_(shortcut)))
            x = max_pool_same(x)  # conv_enc pools after all levels but the last, the head before its convolutions
        for conv in self.head:
            x = F.relu_(conv3d(x, conv.weight, conv.bias))
        return x.mean(dim=(2, 3, 4))


def max_pool_same(x: torch.Tensor) -> torch.Tensor:
    """Keras' ``MaxPooling3D(2, padding='same')``: odd sizes round up, the last window cut short."""
    return F.max_pool3d(x, 2, ceil_mode=True)


def box_around_brain(channels: torch.Tensor, size: int = QC_SHAPE) -> torch.Tensor:
    """SynthSeg's ``MakeShape``: the ``size``^3 box of the argmax map ``channels`` (D, H, W) centred on the
    brain's bounding box (odd margins one voxel larger before it), zero-padded where it leaves the image."""
    shape = channels.shape
    brain = torch.ones_like(channels, dtype=torch.bool)
    for value in _OUTSIDE_BRAIN:
        brain &= channels != value
    where = brain.nonzero()
    if len(where):
        low, high = where.amin(0).tolist(), (where.amax(0) + 1).tolist()
    else:
        low, high = [0, 0, 0], [min(s, size) for s in shape]
    window, padding = [], []
    for axis in range(3):
        margin = size - (high[axis] - low[axis])
        start, stop = low[axis] - math.ceil(margin / 2), high[axis] + math.floor(margin / 2)
        window.append(slice(max(start, 0), min(stop, shape[axis])))
        padding.append((max(-start, 0), max(stop - shape[axis], 0)))
    box = channels[tuple(window)]
    return F.pad(box, [side for pair in reversed(padding) for side in pair])


def qc_input(channels: torch.Tensor, labels, size: int = QC_SHAPE, dtype=torch.float32) -> torch.Tensor:
    """The network's input (1, groups, size, size, size) from the segmentation argmax ``channels`` (D, H, W),
    whose channel ``i`` is FreeSurfer label ``labels[i]``."""
    group_of_channel = torch.tensor(qc_groups(labels), device=channels.device)
    groups = group_of_channel[box_around_brain(channels, size)]
    return F.one_hot(groups, len(QC_NAMES) + 1).permute(3, 0, 1, 2)[None].to(dtype)


def scores_by_group(raw: torch.Tensor) -> dict[str, float]:
    """SynthSeg's reported scores: group 0 dropped, clipped to [0, 1], rounded to 4 decimals, by group name."""
    scores = raw.reshape(-1)[1:].double().clamp(0, 1).cpu().numpy().round(4)
    return {name: float(score) for name, score in zip(QC_NAMES, scores)}
