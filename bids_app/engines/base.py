"""The engine contract: what every engine is built from, what it returns, and how the registry describes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol

import nibabel as nb


@dataclass
class Segmentation:
    """An engine's result on the grid of the image it was given.

    ``labels`` holds FreeSurfer label numbers (integers). ``probabilities`` maps FreeSurfer label numbers to
    posterior maps on the same grid, when the engine was asked for them. ``masks`` holds extra binary images
    by description (``{"brain": mask}``). ``provenance`` goes into the sidecar JSON (keys in BIDS CamelCase:
    ``Engine``, ``Model``, ``ModelSHA256``, ``Folds``, ``Device`` ...).
    """

    labels: nb.Nifti1Image
    provenance: dict
    probabilities: dict[int, nb.Nifti1Image] = field(default_factory=dict)
    masks: dict[str, nb.Nifti1Image] = field(default_factory=dict)


class Engine(Protocol):
    """What the participant level and the segmentation interface call on an engine class and its objects."""

    @classmethod
    def prepare(cls, options: Any, preprocessing: dict) -> Any:
        """Check ``options`` before any image is processed (a :class:`~bids_app.errors.SubsegError`, one line naming
        what is wrong); return them resolved
        (e.g. a weights name turned into a path). ``preprocessing`` holds the run's preprocessing settings."""

    @classmethod
    def model_labels(cls, options: Any) -> list[int] | None:
        """FreeSurfer labels the model outputs; None: every structure."""

    @classmethod
    def from_options(cls, options: Any, *, device: str, omp_nthreads: int, probabilities: bool) -> "Engine":
        """Build the engine (load its model once) from its typed options."""

    def predict(self, image: nb.Nifti1Image, reference: nb.Nifti1Image | None = None) -> Segmentation:
        """Segment a T1w on the engine's grid; maps on the grid of ``reference`` when the spec says the engine
        takes one (``reference_grid``), else on ``image``'s grid."""

    def provenance(self) -> dict:
        """What goes into the sidecar JSON."""


@dataclass(frozen=True)
class CliOption:
    """One command-line option of an engine; its destination is a field of the engine's options."""

    flags: tuple[str, ...]
    """Spellings, e.g. ``("--parc",)``."""
    dest: str
    """The options field it fills."""
    kwargs: dict = field(default_factory=dict, hash=False)
    """Keyword arguments of ``argparse.add_argument`` (help, action, metavar, default ...)."""


#: The grid of an engine that only needs the T1w reoriented (exactly, no resampling) to RAS.
RAS_GRID: dict = {"orientation": "RAS"}


@dataclass(frozen=True)
class EngineSpec:
    """An engine as the registry knows it: everything the levels need without importing the engine itself."""

    name: str
    """``--engine`` value and the default desc."""
    engine: str
    """``module:Class`` of the engine (imported only when needed: it may import torch)."""
    options: type
    """Frozen dataclass of the engine's options; its fields are the ``dest`` of :attr:`cli`."""
    cli: tuple[CliOption, ...] = ()
    """Its command-line options (shown in the participant level's option group)."""
    grid: dict = field(default_factory=lambda: dict(RAS_GRID))
    """How the workflow conforms the T1w first: ``orientation`` and optionally ``shape`` and ``zooms``."""
    mem_gb: float = 4
    """Memory one image needs."""
    masks: bool = False
    """It writes a brain mask (``Segmentation.masks["brain"]``)."""
    reference_grid: bool = False
    """``predict`` can return its maps directly on the raw T1w's grid (``reference``)."""
    models: str | None = None
    """``module:function`` returning the tab-separated lines ``subseg models list`` prints for the engine's
    built-in weights."""

    def engine_class(self) -> type[Engine]:
        module, name = self.engine.split(":")
        return getattr(import_module(module), name)

    def options_from(self, values: dict) -> Any:
        """The engine's options from a mapping of option values (extra keys ignored)."""
        names = self.options.__dataclass_fields__
        return self.options(**{name: value for name, value in values.items() if name in names})


#: ``--parc``, which more than one engine takes.
PARC_OPTION = CliOption(("--parc",), "parc", {
    "action": "store_true",
    "help": "meshnet: keep the cortical parcels (Desikan-Killiany) instead of one cortex label"})
