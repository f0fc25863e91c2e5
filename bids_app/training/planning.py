"""Fingerprint, plan and preprocess a raw dataset: nnU-Net's own ``3d_fullres`` plan or a small CPU one.

nnU-Net's own planner (the plain :class:`ExperimentPlanner`, passed as a class, no lookup by name) plans the
dataset. Without a :class:`SmallCPUPlan` its ``3d_fullres`` configuration is kept as planned (sized for a GPU);
with one, planning runs at the plan's spacing and ``3d_fullres`` is shrunk to a few-feature U-Net saved under
a plans name of its own. Either way the plans hold ``3d_fullres`` only. Call inside
:func:`bids_app.training.environment.nnunet_environment`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

LOGGER = logging.getLogger("subseg")

#: The one configuration subseg plans and trains.
CONFIGURATION = "3d_fullres"


@dataclass(frozen=True)
class SmallCPUPlan:
    """A U-Net small enough to learn on two CPU cores in minutes."""

    spacing: float = 2.0
    """Isotropic target spacing (mm); nnU-Net resamples to it in preprocessing and prediction."""
    patch_size: int = 48
    """Edge of the cubic training patch (voxels at ``spacing``)."""
    batch_size: int = 2
    features_per_stage: tuple[int, ...] = (8, 16, 32, 64)
    """Feature maps per encoder stage; its length is the number of stages."""
    plans_name: str = "subsegCPUPlans"

    def architecture(self) -> dict:
        """``arch_kwargs`` updates for nnU-Net's PlainConvUNet: 3^3 kernels, strides 1,2,2,..., 2 convs a stage."""
        stages = len(self.features_per_stage)
        if self.patch_size % 2 ** (stages - 1):
            raise ValueError(f"patch size {self.patch_size} is not divisible by 2^{stages - 1} ({stages} stages)")
        return {
            "n_stages": stages,
            "features_per_stage": list(self.features_per_stage),
            "kernel_sizes": [[3, 3, 3]] * stages,
            "strides": [[1, 1, 1]] + [[2, 2, 2]] * (stages - 1),
            "n_conv_per_stage": [2] * stages,
            "n_conv_per_stage_decoder": [2] * (stages - 1),
        }


def _fullres(plans: dict) -> dict:
    if CONFIGURATION not in plans["configurations"]:
        raise ValueError(f"nnU-Net planned no {CONFIGURATION} configuration for {plans['dataset_name']}")
    configuration = dict(plans["configurations"][CONFIGURATION])
    configuration.pop("next_stage", None)
    return configuration


def nnunet_fullres_plans(plans: dict) -> dict:
    """nnU-Net's plans as planned, with only ``3d_fullres`` (one configuration, as a model folder needs)."""
    return {**plans, "configurations": {CONFIGURATION: _fullres(plans)}}


def small_cpu_plans(plans: dict, plan: SmallCPUPlan) -> dict:
    """nnU-Net's plans with only ``3d_fullres``, shrunk to ``plan``, under ``plan.plans_name``."""
    configuration = _fullres(plans)
    configuration.update({
        "data_identifier": f"{plan.plans_name}_{CONFIGURATION}",
        "batch_size": plan.batch_size,
        "patch_size": [plan.patch_size] * 3,
        "spacing": [float(plan.spacing)] * 3,
    })
    architecture = json.loads(json.dumps(configuration["architecture"]))
    architecture["arch_kwargs"].update(plan.architecture())
    configuration["architecture"] = architecture
    return {**plans, "plans_name": plan.plans_name, "configurations": {CONFIGURATION: configuration}}


def plan_and_preprocess(dataset_name: str, preprocessed_dir, plan: SmallCPUPlan | None,
                        num_processes: int = 1) -> Path:
    """Fingerprint, plan and preprocess ``dataset_name`` (nnU-Net's own plans if ``plan`` is None).

    Return the plans file written.
    """
    from nnunetv2.experiment_planning.dataset_fingerprint.fingerprint_extractor import (
        DatasetFingerprintExtractor,
    )
    from nnunetv2.experiment_planning.experiment_planners.default_experiment_planner import ExperimentPlanner
    from nnunetv2.preprocessing.preprocessors.default_preprocessor import DefaultPreprocessor

    LOGGER.info("nnU-Net fingerprint of %s", dataset_name)
    DatasetFingerprintExtractor(dataset_name, num_processes, verbose=False).run(overwrite_existing=True)
    if plan is None:
        LOGGER.info("nnU-Net planning (nnU-Net's own %s plan)", CONFIGURATION)
        plans = nnunet_fullres_plans(ExperimentPlanner(dataset_name).plan_experiment())
    else:
        LOGGER.info("nnU-Net planning at %.1f mm (small CPU plan)", plan.spacing)
        planner = ExperimentPlanner(dataset_name, overwrite_target_spacing=[float(plan.spacing)] * 3)
        plans = small_cpu_plans(planner.plan_experiment(), plan)
    plans_file = Path(preprocessed_dir) / dataset_name / f"{plans['plans_name']}.json"
    plans_file.write_text(json.dumps(plans, indent=2) + "\n")
    LOGGER.info("nnU-Net preprocessing %s (%s)", CONFIGURATION, plans["plans_name"])
    preprocessor = DefaultPreprocessor(verbose=False)
    preprocessor.show_progress_bar = False
    preprocessor.run(dataset_name, CONFIGURATION, plans["plans_name"], num_processes=num_processes)
    return plans_file
