"""Hemisphere-aware mirroring for nnU-Net training: flip left-right and swap each Left label with its Right.

Trains on the mirrored heads as the anatomy they are. The trainer marks its plans with
:data:`~bids_app.training.mirroring.PLANS_KEY`; :class:`~bids_app.engines.nnunet.NNUNetEngine` then swaps
the homologous output channels of the left-right test-time mirror before averaging.
"""

from __future__ import annotations

import torch
from batchgeneratorsv2.transforms.spatial.mirroring import MirrorTransform
from batchgeneratorsv2.transforms.utils.compose import ComposeTransforms
from batchgeneratorsv2.transforms.utils.deep_supervision_downsampling import DownsampleSegForDSTransform
from batchgeneratorsv2.transforms.utils.remove_label import RemoveLabelTansform

from ..engines.nnunet import left_right_axis
from ..labels import label_index
from .dataset import ORIENTATION
from .mirroring import PLANS_KEY, homolog_permutation
from .trainer import nnUNetTrainerSubsegCPU


class HemisphereMirrorTransform(MirrorTransform):
    """nnU-Net's mirror transform that also maps each label to its homolog when it flips ``swap_axis``."""

    def __init__(self, allowed_axes, swap_axis: int, permutation):
        super().__init__(allowed_axes)
        self.swap_axis = swap_axis
        self.permutation = torch.as_tensor(permutation, dtype=torch.long)

    def _apply_to_segmentation(self, segmentation: torch.Tensor, **params) -> torch.Tensor:
        flipped = super()._apply_to_segmentation(segmentation, **params)
        if self.swap_axis not in params["axes"]:
            return flipped
        return self.permutation[flipped.long()].to(segmentation.dtype)


class nnUNetTrainerSubsegHemisphere(nnUNetTrainerSubsegCPU):
    """The CPU trainer plus left-right mirroring that swaps homologous labels (training and test time)."""

    def __init__(self, plans: dict, configuration: str, fold, dataset_json: dict,
                 device: torch.device = torch.device("cpu")):
        if dataset_json.get("subseg_orientation") != ORIENTATION:
            raise ValueError(f"hemisphere-aware training needs a dataset written by subseg in {ORIENTATION}")
        plans[PLANS_KEY] = True
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.left_right_axis = left_right_axis(self.plans_manager.transpose_forward)
        labels = sorted(dataset_json["labels"].items(), key=lambda item: item[1])
        self.permutation = homolog_permutation([label_index(name) if value else 0 for name, value in labels])

    def configure_rotation_dummyDA_mirroring_and_inital_patch_size(self):
        rotation, dummy_2d, patch_size, _ = super().configure_rotation_dummyDA_mirroring_and_inital_patch_size()
        self.inference_allowed_mirroring_axes = (self.left_right_axis,)
        return rotation, dummy_2d, patch_size, (self.left_right_axis,)

    def get_training_transforms(self, patch_size, rotation_for_DA, deep_supervision_scales, mirror_axes,
                                do_dummy_2d_data_aug, use_mask_for_norm=None, is_cascaded=False,
                                foreground_labels=None, regions=None, ignore_label=None):
        """Only the hemisphere-aware mirror; no other augmentation."""
        transforms = [RemoveLabelTansform(-1, 0),
                      HemisphereMirrorTransform(mirror_axes, self.left_right_axis, self.permutation)]
        if deep_supervision_scales is not None:
            transforms.append(DownsampleSegForDSTransform(ds_scales=deep_supervision_scales))
        return ComposeTransforms(transforms)
