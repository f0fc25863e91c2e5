"""Hemisphere-aware mirroring for nnU-Net training: flip left-right and swap each Left label with its Right.

Trains on the mirrored heads as the anatomy they are. :class:`HemisphereMirroringMixin` goes before any
nnU-Net trainer in the bases (``class T(HemisphereMirroringMixin, nnUNetTrainer)``): it marks the plans with
:data:`~bids_app.utils.hemisphere.PLANS_KEY`, puts the left-right axis among the mirror axes and replaces
nnU-Net's mirror transform by :class:`HemisphereMirrorTransform` (or adds it where the trainer has none).
:class:`~bids_app.engines.nnunet.NNUNetEngine` then swaps the homologous output channels of the left-right
test-time mirror before averaging.
"""

from __future__ import annotations

import torch
from batchgeneratorsv2.transforms.spatial.mirroring import MirrorTransform
from batchgeneratorsv2.transforms.utils.compose import ComposeTransforms
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from ..labels import flip_permutation, label_index
from ..utils.hemisphere import PLANS_KEY, network_left_right_axis
from .dataset import ORIENTATION
from .trainer import nnUNetTrainerSubsegCPU


class HemisphereMirrorTransform(MirrorTransform):
    """nnU-Net's mirror transform that also maps each label to its homolog when it flips ``swap_axis``.

    Negative values (nnU-Net's -1 for padding) are flipped but kept.
    """

    def __init__(self, allowed_axes, swap_axis: int, permutation):
        super().__init__(allowed_axes)
        self.swap_axis = swap_axis
        self.permutation = torch.as_tensor(permutation, dtype=torch.long)

    def _apply_to_segmentation(self, segmentation: torch.Tensor, **params) -> torch.Tensor:
        flipped = super()._apply_to_segmentation(segmentation, **params)
        if self.swap_axis not in params["axes"]:
            return flipped
        labels = flipped.long()
        swapped = torch.where(labels >= 0, self.permutation[labels.clamp(min=0)], labels)
        return swapped.to(segmentation.dtype)


class HemisphereMirroringMixin:
    """Left-right mirroring that swaps homologous labels, in training and at test time, for any trainer."""

    def __init__(self, plans: dict, configuration: str, fold, dataset_json: dict,
                 device: torch.device = torch.device("cpu")):
        if dataset_json.get("subseg_orientation") != ORIENTATION:
            raise ValueError(f"hemisphere-aware training needs a dataset written by subseg in {ORIENTATION}")
        plans[PLANS_KEY] = True
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.left_right_axis = network_left_right_axis(self.plans_manager.transpose_forward)
        labels = sorted(dataset_json["labels"].items(), key=lambda item: item[1])
        self.permutation = flip_permutation([label_index(name) if value else 0 for name, value in labels])

    def configure_rotation_dummyDA_mirroring_and_inital_patch_size(self):
        rotation, dummy_2d, patch_size, axes = super().configure_rotation_dummyDA_mirroring_and_inital_patch_size()
        axes = tuple(sorted({*(axes or ()), self.left_right_axis}))
        self.inference_allowed_mirroring_axes = axes
        return rotation, dummy_2d, patch_size, axes

    def get_training_transforms(self, patch_size, rotation_for_DA, deep_supervision_scales, mirror_axes,
                                do_dummy_2d_data_aug, use_mask_for_norm=None, is_cascaded=False,
                                foreground_labels=None, regions=None, ignore_label=None):
        """The trainer's transforms with its mirror (if any) replaced by the hemisphere-aware one."""
        composed = super().get_training_transforms(
            patch_size, rotation_for_DA, deep_supervision_scales, mirror_axes, do_dummy_2d_data_aug,
            use_mask_for_norm=use_mask_for_norm, is_cascaded=is_cascaded, foreground_labels=foreground_labels,
            regions=regions, ignore_label=ignore_label)
        transforms = list(composed.transforms)
        mirror = HemisphereMirrorTransform(mirror_axes, self.left_right_axis, self.permutation)
        plain = [index for index, transform in enumerate(transforms) if type(transform) is MirrorTransform]
        if plain:
            transforms[plain[0]] = mirror
        else:
            transforms.insert(0, mirror)
        return ComposeTransforms(transforms)


class nnUNetTrainerSubsegHemisphere(HemisphereMirroringMixin, nnUNetTrainerSubsegCPU):
    """The CPU trainer plus hemisphere-aware left-right mirroring (its only augmentation)."""


class nnUNetTrainerHemisphere(HemisphereMirroringMixin, nnUNetTrainer):
    """nnU-Net's default trainer with its mirroring made hemisphere-aware along the left-right axis."""
