"""Train nnU-Net models from FreeSurfer-labelled T1w images (the base of the ``train`` level).

:func:`bids_app.training.train.train` writes the raw dataset, plans (a small CPU configuration or nnU-Net's
own), preprocesses, trains and returns a model folder laid out as ``nnUNetv2_train`` writes it.
Fingerprinting and preprocessing start worker processes with ``spawn``: a script that calls
:func:`~bids_app.training.train.train` needs an ``if __name__ == "__main__":`` guard, and nipype nodes that
run it should use a plugin that runs them in a regular (non-daemonic) process.
"""

#: Names of the trainers of :data:`bids_app.training.registry.TRAINERS` (importable without nnU-Net).
TRAINER_NAMES = ("nnUNetTrainerSubsegCPU", "nnUNetTrainer")
#: The trainer used on a CPU, and on a GPU, when none is chosen.
DEFAULT_TRAINERS = {"cpu": "nnUNetTrainerSubsegCPU", "cuda": "nnUNetTrainer"}
