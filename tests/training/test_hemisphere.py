"""Hemisphere-aware mirroring: the mirrored head gets the labels it really has; plain mirroring does not."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest
import torch
from batchgeneratorsv2.transforms.spatial.mirroring import MirrorTransform
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

from bids_app.engines.nnunet import hemisphere_aware_predictor, nnunet_input
from bids_app.labels import flip_permutation
from bids_app.training.dataset import label_table, remap_labels
from bids_app.training.hemisphere import HemisphereMirrorTransform
from bids_app.training.mirroring import hemisphere_mirror
from bids_app.utils.conform import conform
from bids_app.utils.hemisphere import network_left_right_axis

MODEL_LABELS = (10, 49, 17, 53, 4)


def _head() -> tuple[nb.Nifti1Image, nb.Nifti1Image]:
    """A RAS toy head: a Left-Thalamus on the left (low x), a larger Right-Thalamus on the right."""
    labels = np.zeros((12, 8, 6), dtype=np.int16)
    labels[2:4, 2:5, 1:4] = 10
    labels[7:11, 3:7, 2:5] = 49
    image = (labels > 0) * 100.0 + np.arange(labels.size).reshape(labels.shape) % 7
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    return nb.Nifti1Image(image.astype(np.float32), affine), nb.Nifti1Image(labels, affine)


def _true_labels(mirrored_labels: np.ndarray) -> np.ndarray:
    """FreeSurfer labels of a RAS head, by side: thalamus voxels at low x are Left, at high x Right."""
    x = np.arange(mirrored_labels.shape[0])[:, None, None] * np.ones(mirrored_labels.shape)
    return np.where(mirrored_labels > 0, np.where(x < mirrored_labels.shape[0] / 2, 10, 49), 0)


def _nnunet_arrays(image, labels, transpose_forward):
    """Image and consecutive labels as nnU-Net holds them after reading and its transpose."""
    table = label_table(MODEL_LABELS)
    order = [0, *(axis + 1 for axis in transpose_forward)]
    array = nnunet_input(image)[0].transpose(order)
    seg = remap_labels(np.asanyarray(labels.dataobj), table).transpose(2, 1, 0)[None].transpose(order)
    return array, seg


@pytest.mark.parametrize("transpose_forward", [[0, 1, 2], [2, 0, 1]])
def test_hemisphere_mirror_gives_the_labels_of_the_mirrored_anatomy(transpose_forward):
    image, labels = _head()
    mirrored_head = nb.Nifti1Image(np.flip(image.get_fdata(), 0).copy(), image.affine)
    truth = nb.Nifti1Image(_true_labels(np.flip(np.asanyarray(labels.dataobj), 0)).astype(np.int16), image.affine)
    axis = network_left_right_axis(transpose_forward)
    permutation = flip_permutation([0, *sorted(MODEL_LABELS)])

    array, seg = _nnunet_arrays(image, labels, transpose_forward)
    expected_image, expected_seg = _nnunet_arrays(mirrored_head, truth, transpose_forward)

    ours = HemisphereMirrorTransform((axis,), axis, permutation).apply(
        {"image": torch.from_numpy(array.copy()), "segmentation": torch.from_numpy(seg.astype(np.int16))},
        axes=[axis])
    assert np.array_equal(ours["image"].numpy(), expected_image)
    assert np.array_equal(ours["segmentation"].numpy(), expected_seg)
    flipped_image, flipped_seg = hemisphere_mirror(array, seg, axis + 1, permutation)
    assert np.array_equal(flipped_seg, expected_seg) and np.array_equal(flipped_image, expected_image)

    plain = MirrorTransform((axis,)).apply(
        {"image": torch.from_numpy(array.copy()), "segmentation": torch.from_numpy(seg.astype(np.int16))},
        axes=[axis])
    assert np.array_equal(plain["image"].numpy(), expected_image)
    assert not np.array_equal(plain["segmentation"].numpy(), expected_seg)


def test_engine_left_right_axis_follows_conform_and_reader():
    """A RAS image read the nnU-Net way has left-right on the last axis, moved by transpose_forward."""
    image, _ = _head()
    lia = conform(image, "LIA")
    array, _ = nnunet_input(conform(lia, "RAS"))
    assert array.shape[1 + network_left_right_axis([0, 1, 2])] == image.shape[0]
    assert array.transpose(0, 3, 1, 2).shape[1 + network_left_right_axis([2, 0, 1])] == image.shape[0]


class _SideLabeller(torch.nn.Module):
    """A network that labels bright voxels Left or Right by their side along ``axis`` (as trained ones learn)."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        size = x.shape[self.axis + 2]
        shape = [1] * x.ndim
        shape[self.axis + 2] = size
        left = (torch.arange(size) < size / 2).reshape(shape).to(x.dtype)
        bright = (x > 50).to(x.dtype)
        return torch.cat([1 - bright, bright * left, bright * (1 - left)], dim=1)


def test_test_time_mirroring_swaps_homologous_channels():
    image, labels = _head()
    x = torch.from_numpy(nnunet_input(image)[0][None].copy())
    axis = network_left_right_axis([0, 1, 2])
    permutation = flip_permutation([0, 10, 49])
    network = _SideLabeller(axis)
    predictions = {}
    for name, predictor_class in (("aware", hemisphere_aware_predictor(permutation, axis)),
                                  ("plain", nnUNetPredictor)):
        predictor = predictor_class(device=torch.device("cpu"), perform_everything_on_device=False)
        predictor.network, predictor.allowed_mirroring_axes = network, (axis,)
        predictions[name] = predictor._internal_maybe_mirror_and_predict(x)
    single = network(x)
    assert torch.equal(predictions["aware"].argmax(1), single.argmax(1))
    bright = single[:, 0] == 0
    assert torch.equal(predictions["plain"][:, 1][bright], predictions["plain"][:, 2][bright])


@pytest.mark.parametrize("name", ["nnUNetTrainerSubsegCPU", "nnUNetTrainer"])
def test_every_registered_trainer_gets_the_hemisphere_aware_mirror_only(name):
    """The mixin replaces nnU-Net's plain mirror (or adds the only one, for the CPU trainer)."""
    from bids_app.training.registry import trainer_class

    trainer = object.__new__(trainer_class(name, hemisphere_aware=True))
    trainer.left_right_axis, trainer.permutation = 2, flip_permutation([0, 10, 49])
    composed = trainer.get_training_transforms([48, 48, 48], (0.0, 0.0), None, (0, 1, 2), False)
    kinds = [type(transform) for transform in composed.transforms]
    assert kinds.count(HemisphereMirrorTransform) == 1 and MirrorTransform not in kinds


def test_padding_label_survives_the_hemisphere_mirror():
    permutation = flip_permutation([0, 10, 49])
    seg = torch.tensor([[[[-1, 1, 2]]]], dtype=torch.int16)
    out = HemisphereMirrorTransform((2,), 2, permutation).apply({"segmentation": seg}, axes=[2])
    assert out["segmentation"].tolist() == [[[[1, 2, -1]]]]
