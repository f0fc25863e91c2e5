"""Train an nnU-Net model from T1w/label pairs on a CPU, end to end, under one work dir.

The result is a model folder laid out as ``nnUNetv2_train`` writes it
(``<trainer>__<plans>__3d_fullres/{dataset.json,plans.json,fold_all/checkpoint_final.pth}``), which
:class:`bids_app.engines.nnunet.NNUNetEngine` loads as is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..utils.device import select_device
from .dataset import dataset_folder_name, write_raw_dataset
from .environment import environ, nnunet_environment
from .planning import CONFIGURATION, SmallCPUPlan, plan_and_preprocess

LOGGER = logging.getLogger("subseg")

#: The fold nnU-Net trains on every case with.
FOLD = "all"


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides the trained model besides the data."""

    plan: SmallCPUPlan = field(default_factory=SmallCPUPlan)
    epochs: int = 20
    iterations_per_epoch: int = 25
    """Epochs x iterations: 500 in all is the least that learns every label robustly (NNUNET_CPU.md)."""
    learning_rate: float = 0.02
    seed: int = 0
    dataset_id: int = 501
    dataset_name: str = "SubsegSubcortical"
    hemisphere_aware: bool = False
    """Mirror left-right in training and at test time, swapping Left and Right labels
    (:mod:`bids_app.training.hemisphere`)."""

    def as_dict(self) -> dict:
        """Plain dict (for hashing and provenance)."""
        return asdict(self)


def train(cases, work_dir, freesurfer_labels, settings: TrainingSettings | None = None, *,
          device: str = "cpu", nthreads: int | None = None, num_processes: int = 1) -> Path:
    """Train on ``cases`` (:class:`~bids_app.training.dataset.TrainingCase`); return the model folder.

    ``freesurfer_labels`` are the FreeSurfer numbers the model learns (others become background).
    ``num_processes`` worker processes fingerprint and preprocess; call from under a ``__main__`` guard.
    nnU-Net's own console output goes to ``work_dir/nnunet_stdout.log``.
    """
    import torch

    settings = settings or TrainingSettings()
    work_dir = Path(work_dir).absolute()
    work_dir.mkdir(parents=True, exist_ok=True)
    dataset_name = dataset_folder_name(settings.dataset_id, settings.dataset_name)
    threads = torch.get_num_threads()
    torch_device = select_device(device, nthreads)
    log_file = work_dir / "nnunet_stdout.log"
    with (nnunet_environment(work_dir) as folders, open(log_file, "a", buffering=1) as log,
          contextlib.redirect_stdout(log)):
        write_raw_dataset(cases, folders["nnUNet_raw"], settings.dataset_id, settings.dataset_name,
                          freesurfer_labels)
        plans_file = plan_and_preprocess(dataset_name, folders["nnUNet_preprocessed"], settings.plan,
                                         num_processes=num_processes)
        # nnUNet_n_proc_DA=0 (augment in this process) breaks planning, so it is set for training only.
        try:
            with environ(nnUNet_n_proc_DA="0", nnUNet_compile="false"):
                model_dir = _run_trainer(plans_file, settings, torch_device)
        finally:
            torch.set_num_threads(threads)
    LOGGER.info("nnU-Net model written to %s (nnU-Net output in %s)", model_dir, log_file)
    return model_dir


def _run_trainer(plans_file: Path, settings: TrainingSettings, device) -> Path:
    import torch

    if settings.hemisphere_aware:
        from .hemisphere import nnUNetTrainerSubsegHemisphere as trainer_class
    else:
        from .trainer import nnUNetTrainerSubsegCPU as trainer_class

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    plans = json.loads(plans_file.read_text())
    plans["continue_training"] = False  # nnunetv2 2.8 pops this key and fails without it
    dataset_json = json.loads((plans_file.parent / "dataset.json").read_text())
    trainer = trainer_class(plans, CONFIGURATION, FOLD, dataset_json, device)
    trainer.num_epochs = settings.epochs
    trainer.num_iterations_per_epoch = settings.iterations_per_epoch
    trainer.initial_lr = settings.learning_rate
    LOGGER.info("nnU-Net training %s: %d epochs x %d iterations on %s", trainer.__class__.__name__,
                settings.epochs, settings.iterations_per_epoch, device)
    trainer.run_training()
    return Path(trainer.output_folder_base)
