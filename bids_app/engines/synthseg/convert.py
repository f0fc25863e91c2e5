"""Load SynthSeg's published Keras weights (h5) into the PyTorch networks, layer by layer, by name.

The published files hold one group per Keras layer (``unet_conv_downarm_0_0/unet_conv_downarm_0_0/kernel:0``),
as Keras' ``save_weights`` writes them; files saved with ``model.save`` have the same under ``model_weights``.
Keras convolution kernels are (D, H, W, in, out); PyTorch's are (out, in, D, H, W).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOGGER = logging.getLogger("subseg")

_CONV = {"kernel": "weight", "bias": "bias"}
_BATCHNORM = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


_NEURON_LAYER = re.compile(
    r"^(?P<network>.+?)_(conv_downarm|conv_uparm|bn_down|bn_up|likelihood|expand_|final_conv)")


class WeightsMismatchError(ValueError):
    """A weights file whose layers or shapes are not those of the network it is loaded into."""


def read_keras_h5(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Every weight of a Keras h5 file: ``{layer name: {weight name: array}}`` (``kernel:0`` -> ``kernel``)."""
    import h5py

    layers: dict[str, dict[str, np.ndarray]] = {}
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise WeightsMismatchError(f"{path}: not a readable HDF5 weights file ({error})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle

        def collect(name, item):
            if isinstance(item, h5py.Dataset):
                parts = name.split("/")
                weight = parts[-1].split(":")[0]
                layers.setdefault(parts[0], {})[weight] = item[()]

        root.visititems(collect)
    return layers


def load_keras_weights(layers: dict[str, nn.Module], path: str | Path) -> None:
    """Copy the weights of ``path`` into ``layers`` (Keras layer name -> Conv3d/BatchNorm3d).

    Raises :class:`WeightsMismatchError` on a missing layer, a missing or extra weight, a shape that differs,
    or an unknown weighted layer that carries the network's own name prefix.
    """
    stored = read_keras_h5(path)
    networks = {_network_of(name) for name in layers}
    unknown = sorted(name for name in stored if name not in layers and _network_of(name) in networks)
    if unknown:
        raise WeightsMismatchError(f"{path}: layers {', '.join(unknown[:3])} are not in the SynthSeg network")
    missing = [name for name in layers if name not in stored]
    if missing:
        raise WeightsMismatchError(f"{path}: layer {missing[0]} is missing: not a weights file for this SynthSeg model")
    for name, module in layers.items():
        mapping = _CONV if isinstance(module, nn.Conv3d) else _BATCHNORM
        weights = stored[name]
        if set(weights) != set(mapping):
            raise WeightsMismatchError(
                f"{path}: layer {name} holds {sorted(weights)}, expected {sorted(mapping)}")
        for keras_name, torch_name in mapping.items():
            value = weights[keras_name]
            if keras_name == "kernel":
                value = np.transpose(value, (4, 3, 0, 1, 2))
            target = getattr(module, torch_name)
            if tuple(value.shape) != tuple(target.shape):
                raise WeightsMismatchError(
                    f"{path}: layer {name} {keras_name} has shape {_keras_shape(keras_name, value.shape)}, "
                    f"expected {_keras_shape(keras_name, tuple(target.shape))}")
            with torch.no_grad():
                target.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))
    LOGGER.debug("Loaded %d Keras layers from %s", len(layers), path)


def _network_of(layer: str) -> str | None:
    """The network a neuron layer belongs to (``unet_parc_bn_up_0`` -> ``unet_parc``, ``qc_final_conv_0`` -> ``qc``)."""
    match = _NEURON_LAYER.match(layer)
    return match["network"] if match else None


def _keras_shape(keras_name: str, shape) -> tuple:
    """A PyTorch kernel shape written back in Keras' axis order, for error messages."""
    shape = tuple(int(s) for s in shape)
    return (shape[2], shape[3], shape[4], shape[1], shape[0]) if keras_name == "kernel" else shape
