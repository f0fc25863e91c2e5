"""Train an nnU-Net model from T1w/label pairs, end to end, under one work dir.

The result is a model folder laid out as ``nnUNetv2_train`` writes it
(``<trainer>__<plans>__3d_fullres/{dataset.json,plans.json,fold_<fold>/checkpoint_final.pth}``), which
:class:`bids_app.engines.nnunet.NNUNetEngine` loads as is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..utils.device import select_device
from ..utils.progress import Progress
from .dataset import dataset_folder_name, write_raw_dataset
from .environment import environ, nnunet_environment
from .planning import CONFIGURATION, SmallCPUPlan, plan_and_preprocess

LOGGER = logging.getLogger("subseg")

#: The fold nnU-Net trains on every case with.
FOLD = "all"
#: Folds of nnU-Net's cross-validation, and the seed of its split.
N_FOLDS, SPLIT_SEED = 5, 12345


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides the trained model besides the data."""

    plan: SmallCPUPlan | None = field(default_factory=SmallCPUPlan)
    """The small CPU plan, or None for nnU-Net's own ``3d_fullres`` plan (sized for a GPU)."""
    trainer: str = "nnUNetTrainerSubsegCPU"
    """A name of :data:`bids_app.training.registry.TRAINERS`."""
    fold: str = FOLD
    """``all`` (train on every case) or ``0`` .. ``4`` (nnU-Net's 5-fold split, by subject)."""
    epochs: int | None = None
    iterations_per_epoch: int | None = None
    """None: the trainer's own (30 x 25 for the CPU trainer: 20 x 25 left both accumbens out on some CPUs;
    1000 x 250 for nnU-Net's)."""
    learning_rate: float | None = None
    """None: the trainer's own."""
    seed: int = 0
    dataset_id: int = 501
    dataset_name: str = "SubsegSubcortical"
    hemisphere_aware: bool = False
    """Mirror left-right in training and at test time, swapping Left and Right labels
    (:mod:`bids_app.training.hemisphere`)."""

    def as_dict(self) -> dict:
        """Plain dict (for hashing and provenance)."""
        return asdict(self)


def crossval_splits(cases) -> list[dict]:
    """nnU-Net's seeded 5-fold split, drawn over subjects so that no subject is in train and val of a fold."""
    from nnunetv2.utilities.crossval_split import generate_crossval_split

    by_subject = {}
    for case in cases:
        by_subject.setdefault(case.subject or case.name, []).append(case.name)
    if len(by_subject) < N_FOLDS:
        raise ValueError(f"a {N_FOLDS}-fold split needs at least {N_FOLDS} subjects, not {len(by_subject)}")
    splits = generate_crossval_split(sorted(by_subject), seed=SPLIT_SEED, n_splits=N_FOLDS)
    return [{role: sorted(name for subject in split[role] for name in by_subject[subject])
             for role in ("train", "val")} for split in splits]


def train(cases, work_dir, freesurfer_labels, settings: TrainingSettings | None = None, *,
          device: str = "cpu", nthreads: int | None = None, num_processes: int = 1) -> Path:
    """Train on ``cases`` (:class:`~bids_app.training.dataset.TrainingCase`); return the model folder.

    ``freesurfer_labels`` are the FreeSurfer numbers the model learns (others become background).
    ``num_processes`` worker processes fingerprint and preprocess; call from under a ``__main__`` guard.
    nnU-Net's own console output (and progress bars) go to ``work_dir/nnunet_stdout.log``.
    """
    import torch

    settings = settings or TrainingSettings()
    cases = list(cases)
    splits = crossval_splits(cases) if settings.fold != FOLD else None
    work_dir = Path(work_dir).absolute()
    work_dir.mkdir(parents=True, exist_ok=True)
    dataset_name = dataset_folder_name(settings.dataset_id, settings.dataset_name)
    threads = torch.get_num_threads()
    torch_device = select_device(device, nthreads)
    log_file = work_dir / "nnunet_stdout.log"
    terminal = sys.stderr  # progress goes here, not to nnU-Net's log
    with (nnunet_environment(work_dir) as folders, open(log_file, "a", buffering=1) as log,
          contextlib.redirect_stdout(log), contextlib.redirect_stderr(log)):
        write_raw_dataset(cases, folders["nnUNet_raw"], settings.dataset_id, settings.dataset_name,
                          freesurfer_labels)
        plans_file = plan_and_preprocess(dataset_name, folders["nnUNet_preprocessed"], settings.plan,
                                         num_processes=num_processes)
        if splits is not None:
            (plans_file.parent / "splits_final.json").write_text(json.dumps(splits, indent=2) + "\n")
        # nnUNet_n_proc_DA=0 (augment in this process) breaks planning, so it is set for training only.
        try:
            with environ(nnUNet_n_proc_DA="0", nnUNet_compile="false"):
                model_dir = _run_trainer(plans_file, settings, torch_device, terminal)
        finally:
            torch.set_num_threads(threads)
    LOGGER.info("nnU-Net model written to %s (nnU-Net output in %s)", model_dir, log_file)
    return model_dir


def report_epochs(trainer, progress: Progress) -> None:
    """Hook ``trainer.on_epoch_end``: after nnU-Net logs an epoch, one progress line with its loss,
    pseudo-Dice and seconds, and the time left."""
    on_epoch_end = trainer.on_epoch_end

    def on_epoch_end_with_progress():
        on_epoch_end()
        log = trainer.logger
        seconds = log.get_value("epoch_end_timestamps", step=-1) - log.get_value("epoch_start_timestamps", step=-1)
        progress.done(f"epoch {trainer.current_epoch}/{trainer.num_epochs}",
                      detail=f"train loss {log.get_value('train_losses', step=-1):.4f}, pseudo-Dice "
                      f"{log.get_value('mean_fg_dice', step=-1):.3f}, {seconds:.1f} s")

    trainer.on_epoch_end = on_epoch_end_with_progress


def _run_trainer(plans_file: Path, settings: TrainingSettings, device, terminal=None) -> Path:
    import torch

    from .registry import trainer_class

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    plans = json.loads(plans_file.read_text())
    plans["continue_training"] = False  # nnunetv2 2.8 pops this key and fails without it
    dataset_json = json.loads((plans_file.parent / "dataset.json").read_text())
    fold = settings.fold if settings.fold == FOLD else int(settings.fold)
    trainer = trainer_class(settings.trainer, settings.hemisphere_aware)(
        plans, CONFIGURATION, fold, dataset_json, device)
    if settings.epochs is not None:
        trainer.num_epochs = settings.epochs
    if settings.iterations_per_epoch is not None:
        trainer.num_iterations_per_epoch = settings.iterations_per_epoch
    if settings.learning_rate is not None:
        trainer.initial_lr = settings.learning_rate
    LOGGER.info("nnU-Net training %s, fold %s: %d epochs x %d iterations on %s", trainer.__class__.__name__,
                settings.fold, trainer.num_epochs, trainer.num_iterations_per_epoch, device)
    progress = Progress(trainer.num_epochs, "epochs", stream=terminal)
    report_epochs(trainer, progress)
    try:
        trainer.run_training()
    finally:
        progress.close()
    return Path(trainer.output_folder_base)
