"""Read a TensorFlow.js layers-model (brainchop's MeshNet files) into a PyTorch :class:`MeshNet`.

Only what MeshNet uses is accepted: a chain of ``Conv3D`` (channels last, stride 1, ``same`` padding) and
``Activation`` layers; anything else is refused with a ``ValueError`` naming the file and the layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .network import ACTIVATIONS, ConvStep, MeshNet

#: brainchop's convention: a convolution whose name ends so is followed by an instance normalisation.
NORMALISED_SUFFIX = "_gn"
_DTYPES = {"float32": np.dtype("<f4")}


def load_meshnet(model_json: str | Path) -> MeshNet:
    """Build the network that ``model_json`` describes, with its weights, as an eval-mode :class:`MeshNet`."""
    path = Path(model_json)
    try:
        document = json.loads(path.read_text())
        layers = document["modelTopology"]["model_config"]["config"]["layers"]
        manifest = document["weightsManifest"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a TensorFlow.js layers-model ({error})") from None
    weights = _read_weights(path, manifest)
    steps = _build_steps(path, layers, weights)
    if weights:
        raise ValueError(f"{path}: weights {sorted(weights)} belong to no layer")
    return MeshNet(steps).eval()


def _read_weights(path: Path, manifest: list) -> dict[str, np.ndarray]:
    """All weights of the manifest by name, read from its files in order (little-endian float32)."""
    weights = {}
    for group in manifest:
        data = b"".join((path.parent / name).read_bytes() for name in group["paths"])
        offset = 0
        for spec in group["weights"]:
            name = spec["name"]
            if spec.get("dtype") not in _DTYPES or "quantization" in spec:
                raise ValueError(f"{path}: weight {name} has dtype {spec.get('dtype')!r}; only float32 is read")
            count = int(np.prod(spec["shape"], dtype=np.int64))
            size = count * _DTYPES[spec["dtype"]].itemsize
            if offset + size > len(data):
                raise ValueError(f"{path}: weight {name} runs past the end of {group['paths']}")
            values = np.frombuffer(data, _DTYPES[spec["dtype"]], count, offset)
            weights[name] = values.reshape(spec["shape"]).astype(np.float32)
            offset += size
        if offset != len(data):
            raise ValueError(f"{path}: {group['paths']} hold {len(data) - offset} bytes beyond the manifest")
    return weights


def _build_steps(path: Path, layers: list, weights: dict) -> list[ConvStep]:
    """Turn the layer chain into convolution steps, each with its activation and normalisation."""
    steps: list[ConvStep] = []
    channels = None
    previous = None
    for layer in layers:
        kind, config = layer["class_name"], layer["config"]
        name = config.get("name", "?")
        _check_chain(path, layer, previous)
        previous = name
        if kind == "InputLayer":
            shape = config.get("batch_input_shape") or [None]
            channels = shape[-1]
            if channels != 1:
                raise ValueError(f"{path}: layer {name}: input must have one channel, not {channels}")
        elif kind == "Conv3D":
            steps.append(_conv_step(path, config, channels, weights))
            channels = config["filters"]
        elif kind == "Activation":
            if not steps:
                raise ValueError(f"{path}: layer {name}: activation before any convolution")
            steps[-1].after.append(_activation(path, name, config.get("activation")))
        else:
            raise ValueError(f"{path}: layer {name}: layer class {kind} is not supported")
    if not steps:
        raise ValueError(f"{path}: no Conv3D layer")
    return steps


def _check_chain(path: Path, layer: dict, previous: str | None) -> None:
    inbound = layer.get("inbound_nodes") or []
    sources = [node[0] for group in inbound for node in group]
    expected = [previous] if previous else []
    if sources != expected:
        raise ValueError(
            f"{path}: layer {layer['config'].get('name')}: takes {sources}, not the previous layer {expected}"
        )


def _conv_step(path: Path, config: dict, channels: int | None, weights: dict) -> ConvStep:
    name = config["name"]
    kernel_size = tuple(config["kernel_size"])
    dilation = tuple(config.get("dilation_rate", (1, 1, 1)))
    problems = [
        f"data_format {config.get('data_format')}" if config.get("data_format", "channels_last") != "channels_last" else "",
        f"strides {config.get('strides')}" if tuple(config.get("strides", (1, 1, 1))) != (1, 1, 1) else "",
        f"padding {config.get('padding')}" if config.get("padding") != "same" else "",
        f"groups {config.get('groups')}" if config.get("groups", 1) != 1 else "",
        f"even kernel {kernel_size}" if any(k % 2 == 0 for k in kernel_size) else "",
        f"dilation {dilation}" if len(dilation) != 3 else "",
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise ValueError(f"{path}: layer {name}: unsupported {', '.join(problems)}")
    kernel = weights.pop(f"{name}/kernel", None)
    expected = (*kernel_size, channels, config["filters"])
    if kernel is None or kernel.shape != expected:
        found = None if kernel is None else kernel.shape
        raise ValueError(f"{path}: layer {name}: kernel shape {found} does not match the topology {expected}")
    bias = weights.pop(f"{name}/bias", None)
    if config.get("use_bias", True) != (bias is not None) or (bias is not None and bias.shape != (config["filters"],)):
        raise ValueError(f"{path}: layer {name}: bias does not match use_bias={config.get('use_bias', True)}")
    conv = torch.nn.Conv3d(
        channels, config["filters"], kernel_size, dilation=dilation,
        padding=tuple(d * (k // 2) for d, k in zip(dilation, kernel_size)), bias=bias is not None,
    )
    with torch.no_grad():
        # TF.js kernels are (d, h, w, in, out); torch wants (out, in, d, h, w).
        conv.weight.copy_(torch.from_numpy(kernel.transpose(4, 3, 0, 1, 2).copy()))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    return ConvStep(
        name, conv, inline=_activation(path, name, config.get("activation", "linear")),
        normalise=name.endswith(NORMALISED_SUFFIX),
    )


def _activation(path: Path, name: str, activation: str | None):
    if activation not in ACTIVATIONS:
        raise ValueError(f"{path}: layer {name}: activation {activation!r} is not supported")
    return activation
