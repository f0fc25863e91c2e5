"""Configurations of the levels for tests that call a level directly, as the command line would build them."""

from __future__ import annotations

from pathlib import Path

from bids_app.config import Config, Evaluation, Execution, Nipype, References


def group_config(*, bids_dir, output_dir, descs=None, reference_dir=None, reference_desc=None,
                 participant_labels=None, nprocs: int = 1, **evaluation) -> Config:
    """The group level's :class:`~bids_app.config.Config`; ``evaluation`` holds ``labels``, ``tolerance_mm``
    and ``swap_threshold`` when not their defaults."""
    output_dir = Path(output_dir)
    return Config(
        execution=Execution(bids_dir=Path(bids_dir), output_dir=output_dir, work_dir=output_dir.parent / "work",
                            analysis_level="group", participant_labels=participant_labels),
        nipype=Nipype(nprocs=nprocs),
        references=References(reference_dir=reference_dir, reference_desc=reference_desc),
        evaluation=Evaluation(descs=descs, **evaluation),
    )
