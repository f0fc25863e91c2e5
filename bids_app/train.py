"""The train level: pair T1w images with reference label maps, draw the training subjects, train nnU-Net v2,
and move the finished model folder to ``output_dir/models/<name>/`` in one step.

The model folder is what ``participant --model`` takes: nnU-Net's ``dataset.json``, ``plans.json`` and
``fold_<fold>/``, plus ``preprocessing.json`` (what the participant level compares its options with),
``split.tsv`` (training and held-out subjects) and ``training.json`` (subjects, settings, per-epoch losses
and pseudo-Dice, wall time, device).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from .config import Config
from .labels import SUBCORTICAL, resolve_labels
from .training import DEFAULT_TRAINERS
from .training.checks import TrainingError, check_grid, check_label_values
from .training.planning import SmallCPUPlan
from .training.selection import choose_subjects, collect_references, pair_images, split_table
from .training.train import FOLD, N_FOLDS, TrainingSettings
from .utils.atomic import atomic_write_text
from .utils.bids_io import bids_uri, collect_t1w, write_bidsignore, write_dataset_description
from .utils.preprocessing_settings import preprocessing_settings
from .utils.versions import software_versions
from .utils.writable import check_writable

LOGGER = logging.getLogger("subseg")


def default_model_name(train_size: int, hemisphere_aware: bool) -> str:
    """``nnunet<N>``, plus ``hemi`` when hemisphere-aware (a valid desc label).

    >>> default_model_name(5, False), default_model_name(30, True)
    ('nnunet5', 'nnunet30hemi')
    """
    return f"nnunet{train_size}" + ("hemi" if hemisphere_aware else "")


def training_settings(config: Config, device_type: str) -> TrainingSettings:
    """The library's settings from the run's options; defaults follow the device (CPU or GPU)."""
    training = config.training
    plans = training.plans if training.plans != "auto" else ("small-cpu" if device_type == "cpu" else "nnunet")
    return TrainingSettings(
        plan=SmallCPUPlan() if plans == "small-cpu" else None,
        trainer=training.trainer or DEFAULT_TRAINERS[device_type], fold=training.fold, epochs=training.epochs,
        iterations_per_epoch=training.iterations_per_epoch, seed=training.seed,
        hemisphere_aware=training.hemisphere_aware,
    )


def _stage_model(model_dir: Path, target: Path, extra: dict[str, str], overwrite: bool) -> None:
    """Copy ``model_dir`` and the ``extra`` files beside ``target``, then rename it into place."""
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    try:
        shutil.copytree(model_dir, staging)
        for name, text in extra.items():
            (staging / name).write_text(text)
        if target.exists():
            if not overwrite:
                raise TrainingError(f"{target} appeared while training; the new model is in {model_dir}")
            target.rename(old)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def run_train(config: Config) -> Path:
    """Check every input, train, and write ``output_dir/models/<name>/``; return that folder."""
    from .training.dataset import TrainingCase, label_table
    from .workflows.train_preproc import run_train_preproc
    from .training.summary import training_record
    from .training.train import train
    from .utils.device import select_device

    execution, training, nipype = config.execution, config.training, config.nipype
    reference_dir, reference_desc = config.references.reference_dir, config.references.reference_desc
    started = time.time()
    if reference_dir is None:
        raise TrainingError("train needs --reference-dir (a BIDS derivatives folder of reference label maps)")
    if training.train_size is None:
        raise TrainingError("train needs --train-size N (the number of training subjects)")
    labels = resolve_labels(training.labels or SUBCORTICAL)
    name = training.model_name or default_model_name(training.train_size, training.hemisphere_aware)
    target = execution.output_dir / "models" / name
    if target.exists() and not execution.overwrite:
        raise TrainingError(f"{target} exists: choose another --model-name or use --overwrite")
    t1w_files = collect_t1w(execution.bids_dir, execution.participant_labels, execution.session_labels,
                            validate=not execution.skip_bids_validation)
    references = collect_references(reference_dir, reference_desc)
    pairs = pair_images(t1w_files, references, execution.participant_labels, training.train_run)
    train_subjects = choose_subjects(pairs, training.train_size, training.seed)
    if training.fold != FOLD and len(train_subjects) < N_FOLDS:
        raise TrainingError(f"--folds {training.fold} is a fold of nnU-Net's {N_FOLDS}-fold split: it needs "
                            f"--train-size {N_FOLDS} or more (use --folds all)")
    images = [image for subject in train_subjects for image in pairs[subject]]
    for image in images:
        check_grid(image.t1w, image.labels)
        check_label_values(image.labels)
    device = select_device(execution.device, nipype.omp_nthreads)
    settings = training_settings(config, device.type)
    check_writable(target.parent)
    check_writable(execution.work_dir)
    LOGGER.info("Training %s on %d subject(s) (%s), %d held out, %d labels", name,
                len(train_subjects), ", ".join(f"sub-{s}" for s in train_subjects),
                len(pairs) - len(train_subjects), len(labels))

    run_dir = execution.work_dir / f"train_{name}"
    shutil.rmtree(run_dir / "nnunet", ignore_errors=True)
    inputs = [(image.name, image.t1w, image.labels) for image in images]
    preprocessing = config.preprocessing.workflow_arguments()
    if preprocessing["bias_correction"] or preprocessing["template"]:
        inputs = run_train_preproc(inputs, run_dir, preprocessing=preprocessing,
                                   omp_nthreads=nipype.omp_nthreads, nprocs=nipype.nprocs)
    subjects = {image.name: image.subject for image in images}
    cases = [TrainingCase(case, t1w, label_map, subjects[case]) for case, t1w, label_map in inputs]
    model_dir = train(cases, run_dir / "nnunet", labels, settings, device=device.type,
                      nthreads=nipype.omp_nthreads, num_processes=nipype.nprocs)

    fold_dir = model_dir / f"fold_{settings.fold}"
    label_names = [name for name, value in label_table(labels).items() if value]
    record = training_record(fold_dir / "checkpoint_final.pth", label_names)
    summary = {
        "name": name,
        "subjects": {"train": [f"sub-{s}" for s in train_subjects],
                     "held_out": [f"sub-{s}" for s in sorted(set(pairs) - set(train_subjects))]},
        "images": [{"case": image.name, "t1w": bids_uri(image.t1w, execution.bids_dir),
                    "labels": Path(os.path.relpath(image.labels, reference_dir)).as_posix()}
                   for image in images],
        "settings": {**settings.as_dict(), "labels": list(labels), "label_names": label_names,
                     "trainer_class": record["trainer_class"], "reference_dir": str(reference_dir),
                     "reference_desc": reference_desc, "train_run": training.train_run,
                     "folded_parcels": json.loads((model_dir / "dataset.json").read_text()).get(
                         "subseg_folded_parcels", {}),
                     "preprocessing": preprocessing},
        "epochs": record["epochs"],
        "device": str(device),
        "wall_time_seconds": round(time.time() - started, 1),
        "software_versions": software_versions(),
    }
    recorded = preprocessing_settings(**config.preprocessing.workflow_arguments())
    write_dataset_description(execution.output_dir, execution.bids_dir)
    write_bidsignore(execution.output_dir)
    atomic_write_text(execution.output_dir / "logs" / f"config-train-{name}.toml", config.to_toml())
    _stage_model(model_dir, target, {
        "preprocessing.json": json.dumps(recorded, indent=2) + "\n",
        "split.tsv": split_table(pairs, train_subjects).to_csv(sep="\t", index=False),
        "training.json": json.dumps(summary, indent=2) + "\n",
    }, execution.overwrite)
    LOGGER.info("Model %s written to %s in %.0f s; segment with: participant --model %s --desc %s",
                name, target, summary["wall_time_seconds"], target, name)
    return target

