"""SynthSeg's networks in PyTorch, layer for layer as ``ext/neuron/models.py`` builds them in Keras.

Each level of the encoder runs ``convs_per_level`` convolutions ('same' padding, ELU), then batch
normalisation, then 2x max pooling (not after the last level). The decoder upsamples by repetition,
concatenates the last convolution of the matching encoder level (taken *before* its batch normalisation),
and runs the same convolutions and batch normalisation. A 1x1x1 convolution and a softmax give the
posteriors. Keras layer names are kept (``keras_layers``) so that weights load by name.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bids_app.engines.synthseg.labels import (
    CORTEX,
    PARCELLATION_LABELS,
    ROBUST_GROUPS,
    SEGMENTATION_LABELS,
)
from bids_app.labels import flip_permutation
from bids_app.utils.torch_conv import channels_last
from bids_app.utils.torch_conv import conv3d as fast_conv3d

#: Keras' BatchNormalization default epsilon.
KERAS_BN_EPSILON = 1e-3
#: Standard deviation of the Gaussian SynthSeg applies to posteriors (``GaussianBlur(sigma=0.5)``).
POSTERIOR_SIGMA = 0.5


class UNet(nn.Module):
    """neuron's ``unet`` with ``batch_norm=-1`` and a final softmax."""

    def __init__(self, in_channels: int, n_labels: int, *, name: str = "unet", n_levels: int = 5,
                 n_features: int = 24, feat_mult: int = 2, conv_size: int = 3, convs_per_level: int = 2,
                 skip_n_concatenations: int = 0):
        super().__init__()
        self.name = name
        self.n_levels = n_levels
        self.skip_levels = n_levels - skip_n_concatenations - 1
        self._keras = {}
        self.down = nn.ModuleList()
        channels = in_channels
        skips = []
        for level in range(n_levels):
            features = round(n_features * feat_mult ** level)
            convs = nn.ModuleList()
            for conv in range(convs_per_level):
                convs.append(self._conv(f"conv_downarm_{level}_{conv}", channels, features, conv_size))
                channels = features
            skips.append(features)
            self.down.append(nn.ModuleDict({"convs": convs, "bn": self._bn(f"bn_down_{level}", features)}))
        self.up = nn.ModuleList()
        for level in range(n_levels - 1):
            features = round(n_features * feat_mult ** (n_levels - 2 - level))
            if level < self.skip_levels:
                channels += skips[n_levels - 2 - level]
            convs = nn.ModuleList()
            for conv in range(convs_per_level):
                convs.append(self._conv(f"conv_uparm_{n_levels + level}_{conv}", channels, features, conv_size))
                channels = features
            self.up.append(nn.ModuleDict({"convs": convs, "bn": self._bn(f"bn_up_{level}", features)}))
        self.likelihood = self._conv("likelihood", channels, n_labels, 1)
        self.to(memory_format=torch.channels_last_3d)  # as the activations: no conversion at each call

    def _conv(self, suffix, in_channels, out_channels, size):
        conv = nn.Conv3d(in_channels, out_channels, size, padding=size // 2)
        self._keras[f"{self.name}_{suffix}"] = conv
        return conv

    def _bn(self, suffix, channels):
        norm = nn.BatchNorm3d(channels, eps=KERAS_BN_EPSILON)
        self._keras[f"{self.name}_{suffix}"] = norm
        return norm

    def keras_layers(self) -> dict[str, nn.Module]:
        """Keras layer name -> the module holding its weights."""
        return dict(self._keras)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Posteriors (softmax over channels) of ``x`` (N, C, D, H, W); D, H, W divisible by 2**(levels-1).

        Runs channels-last, the layout oneDNN convolves fastest; the posteriors come back in it too.
        """
        x = channels_last(x)
        skips = []
        for level, block in enumerate(self.down):
            for conv in block["convs"]:
                x = F.elu_(conv3d(x, conv.weight, conv.bias))
            skips.append(x)
            x = block["bn"](x) if level == self.n_levels - 1 else normalise_and_pool(x, block["bn"])
        for level, block in enumerate(self.up):
            first, *others = block["convs"]
            skip = skips[self.n_levels - 2 - level] if level < self.skip_levels else None
            x = F.elu_(upsample_and_convolve(x, skip, first))
            for conv in others:
                x = F.elu_(conv3d(x, conv.weight, conv.bias))
            if level < len(self.up) - 1:
                x = block["bn"](x)
        weight, bias = fold_batch_norm(self.up[-1]["bn"], self.likelihood)
        return softmax_(conv3d(x, weight, bias))


def conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """'Same' convolution (odd kernel) on oneDNN."""
    return fast_conv3d(x, weight, bias, weight.shape[-1] // 2)


def normalise_and_pool(x: torch.Tensor, norm: nn.BatchNorm3d) -> torch.Tensor:
    """``F.max_pool3d(norm(x), 2)``, normalising the 8x fewer pooled voxels.

    Batch normalisation is monotonic in each channel (also in floating point): it commutes with the maximum,
    which it turns into the minimum where its scale is negative.
    """
    pooled = F.max_pool3d(x, 2)
    decreasing = norm.weight < 0
    if decreasing.any():
        pooled[:, decreasing] = -F.max_pool3d(-x[:, decreasing], 2)
    return norm(pooled)


def upsample_and_convolve(x: torch.Tensor, skip: torch.Tensor | None, conv: nn.Conv3d) -> torch.Tensor:
    """``conv(torch.cat([skip, upsampled x]))``, ``x`` upsampled 2x by repetition (or without ``skip``).

    Computed as the sum of ``skip`` and ``x`` convolved with their slices of the kernel: a channels-last
    concatenation interleaves the channels, which costs more than the sum. A k-tap convolution of the
    upsampled ``x`` is a (k+1)-tap transposed convolution of ``x`` with stride 2 whose kernel, along each axis,
    sums neighbouring taps of the flipped kernel: 3.4x fewer operations for k=3, and no upsampled copy. Both
    are exact up to rounding.
    """
    skip_weight, weight = conv.weight.split([0 if skip is None else skip.shape[1], x.shape[1]], dim=1)
    size = weight.shape[-1]
    coarse = weight.flip(2, 3, 4)
    for dim in (2, 3, 4):
        summed = coarse.new_zeros(*coarse.shape[:dim], size + 1, *coarse.shape[dim + 1:])
        summed.narrow(dim, 0, size).add_(coarse)
        summed.narrow(dim, 1, size).add_(coarse)
        coarse = summed
    output = F.conv_transpose3d(x, coarse.transpose(0, 1).contiguous(memory_format=torch.channels_last_3d),
                                conv.bias if skip is None else None, stride=2, padding=size // 2)
    return output if skip is None else output.add_(conv3d(skip, skip_weight, conv.bias))


def fold_batch_norm(norm: nn.BatchNorm3d, conv: nn.Conv3d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` applied after ``norm``, for a 1x1x1 ``conv`` (no padding, so exact)."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias - norm.running_mean * scale
    return conv.weight * scale[:, None, None, None], conv.bias + conv.weight.flatten(1) @ shift


def softmax_(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over channels, in place: ``torch.softmax`` would allocate another whole image of posteriors."""
    logits -= logits.amax(dim=1, keepdim=True)
    logits.exp_()
    return logits.div_(logits.sum(dim=1, keepdim=True))


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """lab2im's non-separable Gaussian kernel: width ``ceil(2.5 sigma) // 2 * 2 + 1``, summing to 1 (float64)."""
    width = int(math.ceil(2.5 * sigma) / 2) * 2 + 1
    grid = torch.arange(width, dtype=torch.float64) - (width - 1) / 2
    g = torch.exp(-grid**2 / (2 * sigma**2))
    kernel = g[:, None, None] * g[None, :, None] * g[None, None, :]
    return kernel / kernel.sum()


def blur(posteriors: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Blur each channel with ``kernel`` (zero padding, as TensorFlow's 'SAME' convolution)."""
    channels = posteriors.shape[1]
    weight = kernel.to(posteriors)[None, None].expand(channels, 1, *kernel.shape)
    return F.conv3d(posteriors, weight, padding=kernel.shape[0] // 2, groups=channels)


def one_hot(posteriors: torch.Tensor) -> torch.Tensor:
    """Argmax over channels, one-hot encoded again (the hand-over between SynthSeg's chained networks)."""
    return F.one_hot(posteriors.argmax(1), posteriors.shape[1]).permute(0, 4, 1, 2, 3).to(posteriors.dtype)


class SynthSegNetwork(nn.Module):
    """SynthSeg 1.0/2.0 (optionally robust), with optional cortical parcellation, as ``predict_synthseg.py``.

    Standard model: posteriors blurred (sigma 0.5); with ``flip``, the image is also segmented mirrored
    along its left-right axis, mirrored back with left/right channels swapped, and both are averaged.
    Robust model: a first U-Net predicts tissue groups, a denoiser (``l2l``) cleans them, and a second U-Net
    segments the image given the cleaned groups (no blur, no flip, as in the original).
    """

    def __init__(self, version: str = "2.0", robust: bool = False, parc: bool = False, flip: bool = True):
        super().__init__()
        if version not in SEGMENTATION_LABELS:
            raise ValueError(f"unknown SynthSeg version {version!r}: use one of {sorted(SEGMENTATION_LABELS)}")
        if robust and version != "2.0":
            raise ValueError("the robust SynthSeg model exists only for version 2.0")
        self.labels = SEGMENTATION_LABELS[version]
        self.robust = robust
        self.flip = flip and not robust
        n_labels = len(self.labels)
        if robust:
            self.segmentation = nn.ModuleDict({
                "unet": UNet(1, ROBUST_GROUPS, name="unet"),
                "l2l": UNet(ROBUST_GROUPS, ROBUST_GROUPS, name="l2l", n_features=16, conv_size=5,
                            skip_n_concatenations=2),
                "unet2": UNet(1 + ROBUST_GROUPS, n_labels, name="unet2"),
            })
        else:
            self.segmentation = nn.ModuleDict({"unet": UNet(1, n_labels, name="unet")})
        self.parcellation = UNet(3, len(PARCELLATION_LABELS), name="unet_parc") if parc else None
        self.register_buffer("swap", torch.tensor(flip_permutation(self.labels)), persistent=False)
        self.register_buffer("kernel", gaussian_kernel(POSTERIOR_SIGMA), persistent=False)
        is_cortex = [label in CORTEX for label in self.labels]
        self.register_buffer("is_cortex", torch.tensor(is_cortex), persistent=False)

    def segmentation_layers(self) -> dict[str, nn.Module]:
        """Keras layer name -> module, for the segmentation weights file."""
        return {k: v for unet in self.segmentation.values() for k, v in unet.keras_layers().items()}

    def _segment_once(self, image: torch.Tensor) -> torch.Tensor:
        if self.robust:
            groups = one_hot(self.segmentation["unet"](image))
            groups = one_hot(self.segmentation["l2l"](groups))
            return self.segmentation["unet2"](torch.cat([image, groups], dim=1))
        return blur(self.segmentation["unet"](image), self.kernel)

    def passes(self, image: torch.Tensor, lr_axis: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posteriors of the plain pass on ``image`` (1, 1, D, H, W) and, with ``flip``, of the pass on the
        image mirrored along spatial axis ``lr_axis``, mirrored back with left/right channels swapped."""
        plain = self._segment_once(image)
        if not self.flip:
            return plain, None
        dim = 2 + lr_axis
        return plain, torch.flip(self._segment_once(torch.flip(image, [dim])), [dim])[:, self.swap]

    @staticmethod
    def average(plain: torch.Tensor, mirrored: torch.Tensor | None) -> torch.Tensor:
        """The segmentation posteriors from :meth:`passes`: their mean, or the plain pass alone."""
        return plain if mirrored is None else 0.5 * (plain + mirrored)

    def segment(self, image: torch.Tensor, lr_axis: int) -> torch.Tensor:
        """Segmentation posteriors of ``image`` (1, 1, D, H, W); ``lr_axis`` is its left-right spatial axis."""
        return self.average(*self.passes(image, lr_axis))

    def parcellate(self, image: torch.Tensor, posteriors: torch.Tensor) -> torch.Tensor:
        """Parcellation posteriors, given the image and the segmentation posteriors (cortex mask as input)."""
        cortex = self.is_cortex[posteriors.argmax(1)].long()
        mask = F.one_hot(cortex, 2).permute(0, 4, 1, 2, 3).to(image.dtype)
        return blur(self.parcellation(torch.cat([image, mask], dim=1)), self.kernel)

    def forward(self, image: torch.Tensor, lr_axis: int):
        """``(segmentation posteriors, parcellation posteriors or None)``."""
        posteriors = self.segment(image, lr_axis)
        if self.parcellation is None:
            return posteriors, None
        return posteriors, self.parcellate(image, posteriors)
