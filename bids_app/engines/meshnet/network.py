"""MeshNet as PyTorch modules: a chain of dilated 3D convolutions, each with its activations.

Layer order follows brainchop's ``inference-logic.js``: convolution (with its own activation), then
instance normalisation over the spatial axes for ``*_gn`` layers (``LayerNormInPlace``), then the separate
``Activation`` layers that follow it in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

#: Activations found in brainchop's MeshNet files, by their Keras names.
ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": F.relu,
    "gelu": F.gelu,  # exact (erf) form, as TF.js's Gelu
}
#: brainchop's LayerNormInPlace epsilon.
NORM_EPSILON = 1e-5


@dataclass(eq=False)
class ConvStep:
    """One Conv3D layer of the file with what brainchop applies after it."""

    name: str
    conv: torch.nn.Conv3d
    inline: str = "linear"
    normalise: bool = False
    after: list[str] = field(default_factory=list)

    def activate_inline(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.inline](x)

    def activate_after(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.after:
            x = ACTIVATIONS[name](x)
        return x


def instance_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and ``1 / sqrt(var + eps)`` over the spatial axes of ``x`` (N, C, D, H, W)."""
    variance, mean = torch.var_mean(x, dim=(2, 3, 4), keepdim=True, correction=0)
    return mean, torch.rsqrt(variance + NORM_EPSILON)


class MeshNet(torch.nn.Module):
    """The whole network; :meth:`forward` is the plain reference (whole volume at once)."""

    def __init__(self, steps: list[ConvStep]):
        super().__init__()
        self.steps = steps
        self.convs = torch.nn.ModuleList(step.conv for step in steps)

    @property
    def n_classes(self) -> int:
        return self.steps[-1].conv.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes, D, H, W) for an input (N, 1, D, H, W)."""
        for step in self.steps:
            x = step.activate_inline(step.conv(x))
            if step.normalise:
                mean, inverse_std = instance_statistics(x)
                x = (x - mean) * inverse_std
            x = step.activate_after(x)
        return x
