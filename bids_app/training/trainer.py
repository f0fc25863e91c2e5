"""An nnU-Net trainer for few-shot training on a CPU.

nnU-Net's default SGD (momentum 0.99, lr 0.01) learns nothing in a CPU budget of a few hundred iterations;
AdamW at lr 0.02 with nnU-Net's poly schedule does. No data augmentation and no mirroring (mirroring along
the left-right axis would swap Left and Right labels); deep supervision and foreground oversampling are kept.
Construct it directly (never through nnU-Net's lookup by name, which imports timm) and set
:attr:`num_epochs` and :attr:`num_iterations_per_epoch` before ``run_training()``.
"""

from __future__ import annotations

import torch
from nnunetv2.training.lr_scheduler.polylr import PolyLRScheduler
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainerSubsegCPU(nnUNetTrainer):
    """Few-shot CPU training: AdamW, poly learning rate, no augmentation, no mirroring."""

    def __init__(self, plans: dict, configuration: str, fold, dataset_json: dict,
                 device: torch.device = torch.device("cpu")):
        # The signature must stay nnUNetTrainer's: it records its own arguments by name for checkpoints.
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.initial_lr = 0.02
        self.num_epochs = 30
        self.num_iterations_per_epoch = 25
        self.num_val_iterations_per_epoch = 2

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.network.parameters(), self.initial_lr, weight_decay=self.weight_decay)
        return optimizer, PolyLRScheduler(optimizer, self.initial_lr, self.num_epochs)

    def configure_rotation_dummyDA_mirroring_and_inital_patch_size(self):
        """No rotation, no 2D augmentation, patches drawn at the final size, no mirroring in training or use."""
        self.inference_allowed_mirroring_axes = None
        return (0.0, 0.0), False, list(self.configuration_manager.patch_size), None

    @staticmethod
    def get_training_transforms(patch_size, rotation_for_DA, deep_supervision_scales, mirror_axes,
                                do_dummy_2d_data_aug, use_mask_for_norm=None, is_cascaded=False,
                                foreground_labels=None, regions=None, ignore_label=None):
        """The validation transforms: patches go to the network as sampled."""
        return nnUNetTrainer.get_validation_transforms(
            deep_supervision_scales, is_cascaded=is_cascaded, foreground_labels=foreground_labels,
            regions=regions, ignore_label=ignore_label,
        )
