"""The run's settings in one place, built from the command line and dumped as TOML next to the outputs.

Only the top-level runner reads this; every ``init_*_wf`` takes plain keyword arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .engines import option_defaults, option_names


@dataclass
class Execution:
    """What to process and where."""

    bids_dir: Path
    """Root of the input BIDS dataset."""
    output_dir: Path
    """Root of the derivatives dataset."""
    work_dir: Path
    """Intermediate results, reused on reruns."""
    analysis_level: str
    """participant, group or train."""
    participant_labels: list[str] | None = None
    """Subjects to process, without ``sub-``; None for all."""
    session_labels: list[str] | None = None
    """Sessions to process, without ``ses-``; None for all."""
    skip_bids_validation: bool = False
    """Do not validate bids_dir."""
    overwrite: bool = False
    """Redo outputs that are up to date."""
    device: str = "auto"
    """Where networks run: auto, cpu or cuda."""
    log_level: int = 20
    """Python logging level."""


@dataclass
class Nipype:
    """How the workflow runs."""

    plugin: str = "MultiProc"
    """nipype plugin."""
    plugin_args: dict = field(default_factory=dict)
    """nipype plugin arguments."""
    nprocs: int = 1
    """Processes at once."""
    omp_nthreads: int = 1
    """Threads per process."""


@dataclass
class Preprocessing:
    """What happens to a T1w before it is segmented or trained on (participant and train levels alike)."""

    bias_correction: bool = False
    """N4 first."""
    align_to: str | None = None
    """TemplateFlow template to segment or train in."""
    brain_mask: str | None = None
    """template: mask the aligned T1w with the template's brain mask."""

    def settings(self) -> dict:
        """As recorded in the dseg sidecar's ``SubsegSettings``."""
        return dataclasses.asdict(self)

    def workflow_arguments(self) -> dict:
        """Keyword arguments of the preprocessing workflows (``init_preproc_wf``, ``init_train_preproc_wf``)."""
        return {"bias_correction": self.bias_correction, "template": self.align_to, "brain_mask": self.brain_mask}


@dataclass
class References:
    """Reference label maps: scored against (group), learned from (train)."""

    reference_dir: Path | None = None
    """BIDS derivatives folder of reference label maps."""
    reference_desc: str | None = None
    """desc of the reference label maps."""


@dataclass
class Segmentation:
    """The engine and its model."""

    engine: str = "meshnet"
    """A name in :data:`bids_app.engines.ENGINES`."""
    desc: str = "meshnet"
    """desc entity of the outputs."""
    options: dict = field(default_factory=option_defaults, metadata={"flatten": True})
    """Every registered engine option by its flag's name (``model``, ``folds``, ``parc``, ``synthseg_model``,
    ``tta`` ...); the chosen engine reads its own (:meth:`EngineSpec.options_from`)."""
    write_probseg: bool = False
    """Also write posterior maps."""

    def settings(self) -> dict:
        """What decides the outputs besides preprocessing, as recorded in the dseg sidecar."""
        return {"engine": self.engine, **self.options, "write_probseg": self.write_probseg}


@dataclass
class Evaluation:
    """The group level's metric settings."""

    descs: list[str] | None = None
    """descs to evaluate; None for all found."""
    labels: list[str] | None = None
    """Structures to score (FreeSurfer names or numbers); None for those each desc's model knows."""
    tolerance_mm: float = 1.0
    """Tolerance of the normalized surface Dice."""
    swap_threshold: float = 0.5
    """Swap fraction above which a subject is flagged."""


@dataclass
class Training:
    """The train level's data and nnU-Net settings."""

    train_size: int | None = None
    """Number of training subjects."""
    train_run: str = "first"
    """The T1w of a subject/session to train on when several have a reference: first, or a run label."""
    seed: int = 0
    """Seed of the subject draw and of training."""
    labels: list[str] | None = None
    """Structures to learn (FreeSurfer names or numbers); None for the 16 subcortical ones."""
    configuration: str = "3d_fullres"
    """nnU-Net configuration."""
    plans: str = "auto"
    """auto, small-cpu or nnunet."""
    trainer: str | None = None
    """nnU-Net trainer name; None for the device's default."""
    fold: str = "all"
    """all, or 0 (fold 0 of nnU-Net's 5-fold split)."""
    epochs: int | None = None
    """Epochs; None for the trainer's own."""
    iterations_per_epoch: int | None = None
    """Iterations per epoch; None for the trainer's own."""
    hemisphere_aware: bool = False
    """Hemisphere-aware left-right mirroring."""
    model_name: str | None = None
    """Folder name under output_dir/models/."""


#: Command-line destinations whose setting has another name.
RENAMED = {"participant_label": "participant_labels", "session_label": "session_labels",
           "nipype_plugin": "plugin", "nipype_plugin_args": "plugin_args"}
#: Settings computed from options rather than copied: log_level (from verbose and quiet), the engine options
#: (collected into Segmentation.options), descs (group's --desc) and fold (train's --folds).
DERIVED = {"log_level": ("verbose", "quiet"), "options": tuple(option_names()), "descs": ("desc",),
           "fold": ("folds",)}


@dataclass
class Config:
    """All settings of one run; every level takes it."""

    execution: Execution
    nipype: Nipype
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    references: References = field(default_factory=References)
    segmentation: Segmentation = field(default_factory=Segmentation)
    evaluation: Evaluation = field(default_factory=Evaluation)
    training: Training = field(default_factory=Training)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Config":
        """The settings of the parsed command line; a section's field with no value there is an error, never a
        silent default (a renamed flag fails here)."""
        values = {RENAMED.get(name, name): value for name, value in vars(args).items()}
        values["log_level"] = max(10, min(40, 20 + 10 * (args.quiet - args.verbose)))
        level = args.analysis_level

        def pick(section):
            missing = [item.name for item in dataclasses.fields(section) if item.name not in values]
            if missing:
                raise KeyError(f"{section.__name__} settings with no command-line value: {', '.join(missing)}")
            return section(**{item.name: values[item.name] for item in dataclasses.fields(section)})

        config = cls(execution=pick(Execution), nipype=pick(Nipype), preprocessing=pick(Preprocessing),
                     references=pick(References))
        if level == "participant":
            values["options"] = {name: values[name] for name in option_names()}
            config.segmentation = pick(Segmentation)
        elif level == "group":
            values["descs"] = values["desc"]
            config.evaluation = pick(Evaluation)
        else:
            config.training = pick(Training)
        return config

    def participant_settings(self) -> dict:
        """What decides a participant's outputs (not where they are computed): compared on reruns."""
        settings = {**self.segmentation.settings(), **self.preprocessing.settings()}
        return {key: _plain(value) for key, value in settings.items()}

    def to_toml(self) -> str:
        """TOML text, one table per section; unset values left out."""
        lines = []
        for section in dataclasses.fields(self):
            lines.append(f"[{section.name}]")
            values = getattr(self, section.name)
            for key, value in _flat_items(values):
                if value is not None:
                    lines.append(f"{key} = {_toml_value(value)}")
            lines.append("")
        return "\n".join(lines)


def _flat_items(section):
    """A section's (key, value) pairs, with the items of fields marked ``flatten`` in place of the field."""
    values = dataclasses.asdict(section)
    for item in dataclasses.fields(section):
        if item.metadata.get("flatten"):
            yield from values[item.name].items()
        else:
            yield item.name, values[item.name]


def _plain(value):
    return str(value) if isinstance(value, Path) else value


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))
