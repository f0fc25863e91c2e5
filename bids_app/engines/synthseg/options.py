"""SynthSeg's options and its registry entry (importable without torch)."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import PARC_OPTION, RAS_GRID, CliOption, EngineSpec


@dataclass(frozen=True)
class SynthSegOptions:
    """``synthseg_model``: weights name in the cache or a path (None: the best cached); the rest as SynthSeg's
    flags. ``crop``: analyse a centred patch of this size (voxels) only."""

    synthseg_model: str | None = None
    robust: bool = False
    parc: bool = False
    fast: bool = False
    qc: bool = False
    crop: int | tuple[int, int, int] | None = None


SPEC = EngineSpec(
    name="synthseg", engine="bids_app.engines.synthseg.engine:SynthSegEngine", options=SynthSegOptions,
    cli=(
        PARC_OPTION,
        CliOption(("--synthseg-model",), "synthseg_model", {
            "metavar": "NAME|PATH",
            "help": "synthseg: weights file name in the model cache ('subseg models list') or a path to one; "
            "default: synthseg_2.0.h5 if cached, else synthseg_1.0.h5 (synthseg_robust_2.0.h5 with --robust)"}),
        CliOption(("--robust",), "robust", {
            "action": "store_true", "help": "synthseg: the robust network (low-quality scans)"}),
        CliOption(("--fast",), "fast", {
            "action": "store_true", "help": "synthseg: skip some post-processing for speed"}),
        CliOption(("--qc",), "qc", {
            "action": "store_true",
            "help": "synthseg: SynthSeg 2.0's quality-control scores per structure group in the dseg sidecar "
            "(needs synthseg_qc_2.0.h5 in the model cache or beside --synthseg-model)"}),
    ),
    # The engine reorients and resamples internally (as SynthSeg does): the workflow only reorients to RAS.
    grid=RAS_GRID, mem_gb=8,
)
