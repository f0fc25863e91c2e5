"""What the port tests share: the input at each precision, layout changes, and the comparison itself."""

from __future__ import annotations

import numpy as np
import torch

#: Tolerance on posteriors and scores, by precision.
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}


def at_precision(t1w_crop, dtype):
    """The crop as float32, or its central 32^3 as float64 (TensorFlow's float64 path is slow)."""
    return t1w_crop.astype(np.float32) if dtype == "float32" else t1w_crop[:, 16:48, 8:40, 16:48]


def channels_first(array) -> torch.Tensor:
    """(N, D, H, W, C) numpy -> (N, C, D, H, W) torch."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 4, 1, 2, 3)


def channels_last(tensor: torch.Tensor) -> np.ndarray:
    """(N, C, D, H, W) torch -> (N, D, H, W, C) numpy."""
    return tensor.permute(0, 2, 3, 4, 1).numpy()


def assert_same_posteriors(ours, expected, labels, dtype):
    """Posteriors to 1e-4 (float32) or 1e-10 (float64); label maps exactly. In float32, rounding may flip
    the argmax of a voxel whose two best posteriors are closer than the tolerance: only those may differ."""
    assert np.abs(ours - expected).max() < TOLERANCE[dtype]
    ours_labels, expected_labels = labels[ours.argmax(-1)], labels[expected.argmax(-1)]
    if dtype == "float64":
        assert np.array_equal(ours_labels, expected_labels)
    else:
        top_two = np.sort(expected, -1)[..., -2:]
        near_tie = (top_two[..., 1] - top_two[..., 0]) < TOLERANCE[dtype]
        assert np.array_equal(ours_labels[~near_tie], expected_labels[~near_tie])
    assert len(np.unique(expected_labels)) > min(5, len(labels) // 2)  # many labels win somewhere
