"""The trainers subseg trains with, as classes imported directly (never looked up by name, which imports timm).

>>> from bids_app.training import TRAINER_NAMES
>>> sorted(TRAINERS) == sorted(TRAINER_NAMES)
True
>>> trainer_class("nnUNetTrainer", hemisphere_aware=True).__name__
'nnUNetTrainerHemisphere'
"""

from __future__ import annotations

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from .hemisphere import nnUNetTrainerHemisphere, nnUNetTrainerSubsegHemisphere
from .trainer import nnUNetTrainerSubsegCPU

#: Trainer by name: (plain class, hemisphere-aware class).
TRAINERS = {
    "nnUNetTrainerSubsegCPU": (nnUNetTrainerSubsegCPU, nnUNetTrainerSubsegHemisphere),
    "nnUNetTrainer": (nnUNetTrainer, nnUNetTrainerHemisphere),
}


def trainer_class(name: str, hemisphere_aware: bool = False) -> type:
    """The class of trainer ``name`` (one of :data:`TRAINERS`), hemisphere-aware if asked."""
    if name not in TRAINERS:
        raise ValueError(f"unknown trainer {name!r}; choose one of {', '.join(TRAINERS)}")
    return TRAINERS[name][1 if hemisphere_aware else 0]
