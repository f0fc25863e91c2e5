"""MeshNet's options and its registry entry (importable without torch)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ...utils.checksums import sha256_of
from ..base import PARC_OPTION, CliOption, EngineSpec

#: The grid the engine works on; the workflow conforms the T1w with ``conform(image, **CONFORM)``.
CONFORM = dict(orientation="LIA", shape=(256, 256, 256), zooms=(1.0, 1.0, 1.0))


@dataclass(frozen=True)
class MeshNetOptions:
    """``parc``: keep the cortical parcels; ``tta``: also segment the head mirrored left-right (on by default:
    it gains 0.014-0.023 mean Dice on the labelled sample heads for about 1.3x the time)."""

    parc: bool = False
    tta: bool = True


#: The MeshNet models inside the package: folder name -> description.
PACKAGED_MODELS = {
    "mindgrab": "meshnet: brain extraction (brainchop's mindgrab), run before the segmentation",
    "model21_104class": "meshnet: 104 FreeSurfer aparc+aseg classes (brainchop), the default engine's model",
}


def packaged_model_folder(name: str) -> Path:
    """``bids_app/data/meshnet/<name>/``: ``model.json``, the weights (``*.bin``) and ``colormap.json``."""
    return Path(str(resources.files("bids_app.data").joinpath("meshnet", name)))


def model_lines() -> list[str]:
    """``subseg models list`` lines (name, status, bytes, checksum, description) of the packaged models."""
    lines = []
    for name, description in PACKAGED_MODELS.items():
        weights_files = sorted(packaged_model_folder(name).glob("*.bin"))
        size = sum(path.stat().st_size for path in weights_files)
        lines.append(f"meshnet/{name}\tbuilt-in\t{size}\tsha256:{sha256_of(*weights_files)}\t{description}")
    return lines


SPEC = EngineSpec(
    name="meshnet", engine="bids_app.engines.meshnet.engine:MeshNetEngine", options=MeshNetOptions,
    cli=(PARC_OPTION, CliOption(("--tta",), "tta", {
        "action": argparse.BooleanOptionalAction, "default": None,
        "help": "meshnet: also segment the head mirrored left-right and average both passes (on by default, "
        "--no-tta: one pass, about 1.3x faster); their per-structure Dice goes into the sidecar as SelfConsistency, "
        "and a structure below 0.3 is a quality flag. synthseg does this flip itself (not with --fast or --robust) "
        "and records the same SelfConsistency"})),
    grid=CONFORM, mem_gb=4, masks=True, reference_grid=True, models="bids_app.engines.meshnet.options:model_lines",
)
