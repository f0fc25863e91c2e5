"""The participant level: find the T1w images, skip those already done, run the workflow, report failures."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd

from .config import Config
from .engines import engine_spec
from .labels import LABELS
from .utils.atomic import atomic_write_text
from .utils.checksums import sha256_of
from .utils.bids_io import (
    bids_uri,
    check_distinct_outputs,
    collect_t1w,
    derivative_path,
    write_bidsignore,
    write_dataset_description,
)
from .utils.lookup_table import lookup_table_path, table_indices
from .utils.manifest import manifest_path, missing_outputs
from .utils.preflight import check_before_images
from .utils.versions import software_versions
from .utils.writable import check_writable

LOGGER = logging.getLogger("subseg")


def dseg_metadata(t1w: Path, config: Config) -> dict:
    """Sidecar fields of a T1w's label map that are known before the engine runs."""
    execution, segmentation = config.execution, config.segmentation
    uri = bids_uri(t1w, execution.bids_dir)
    return {
        "Description": f"Subcortical segmentation by subseg ({segmentation.engine}), FreeSurfer label numbers",
        "Sources": [uri],
        "SpatialReference": uri,
        "Manual": False,
        "SoftwareVersions": software_versions(),
        "SubsegSettings": config.participant_settings(),
        "SourceSHA256": sha256_of(t1w),
    }


def is_up_to_date(t1w: Path, metadata: dict, config: Config) -> bool:
    """True when every output of ``t1w`` its manifest lists exists unchanged, made from this source and settings.

    A missing or changed output is logged; the image is then redone (its finished work steps are reused).
    """
    output_dir = config.execution.output_dir
    missing = missing_outputs(manifest_path(output_dir, t1w, config.segmentation.desc), output_dir, metadata)
    if missing:
        LOGGER.info("%s: %d output(s) missing or changed (%s); redoing them", t1w.name, len(missing),
                    ", ".join(missing))
    return missing == []


def engine_options(config: Config):
    """The engine's typed options, checked (and resolved) before any image is processed."""
    segmentation = config.segmentation
    spec = engine_spec(segmentation.engine)
    return spec.engine_class().prepare(spec.options_from(segmentation.options),
                                       config.preprocessing.workflow_arguments())


def check_lookup_tables(output_dir: Path, desc: str) -> None:
    """Refuse, before any image is segmented, a damaged lookup table that the run would have to extend."""
    for path in (lookup_table_path(output_dir), lookup_table_path(output_dir, desc)):
        if path.is_file():
            table_indices(path)


def update_dseg_tsv(output_dir: Path, labels, desc: str | None = None) -> Path:
    """Add ``labels`` to the root ``dseg.tsv`` lookup (index, name, abbreviation, color, hemi), and to
    ``desc-<desc>_dseg.tsv`` (the labels of that desc's model alone) when ``desc`` is given."""
    if desc is not None:
        update_dseg_tsv(output_dir, labels)
    path = lookup_table_path(output_dir, desc)
    known = set(table_indices(path)) if path.is_file() else set()
    rows = [LABELS[index] for index in sorted(known | {int(i) for i in labels}) if index in LABELS]
    table = pd.DataFrame({
        "index": [label.index for label in rows],
        "name": [label.name for label in rows],
        "abbreviation": [label.abbreviation for label in rows],
        "color": [label.color for label in rows],
        "hemi": [label.hemi or "n/a" for label in rows],
    })
    atomic_write_text(path, table.to_csv(sep="\t", index=False))
    return path


def run_participant(config: Config) -> int:
    """Segment every selected T1w; return the number of images that failed."""
    from nipype import config as nipype_config

    from .utils.progress import WorkflowProgress
    from .workflows.base import branch_name, init_subseg_wf

    execution, segmentation = config.execution, config.segmentation
    t1w_files = collect_t1w(execution.bids_dir, execution.participant_labels, execution.session_labels,
                            validate=not execution.skip_bids_validation)
    check_distinct_outputs(t1w_files, execution.output_dir, segmentation.desc)
    check_lookup_tables(execution.output_dir, segmentation.desc)
    check_before_images(device=execution.device, template=config.preprocessing.align_to)
    options = engine_options(config)
    model_labels = engine_spec(segmentation.engine).engine_class().model_labels(options)
    check_writable(execution.output_dir)
    check_writable(execution.work_dir)
    metadata = {t1w: dseg_metadata(t1w, config) for t1w in t1w_files}
    todo = []
    for t1w in t1w_files:
        if not execution.overwrite and is_up_to_date(t1w, metadata[t1w], config):
            LOGGER.info("%s: up to date, kept (use --overwrite to redo)", t1w.name)
        else:
            todo.append(t1w)

    write_dataset_description(execution.output_dir, execution.bids_dir)
    write_bidsignore(execution.output_dir)
    logs = execution.output_dir / "logs"
    atomic_write_text(logs / f"config-{segmentation.desc}.toml", config.to_toml())
    if not todo:
        update_dseg_tsv(execution.output_dir,
                        table_labels(execution.output_dir, t1w_files, segmentation.desc, model_labels),
                        segmentation.desc)
        return len(report_quality_flags(execution.output_dir, t1w_files, segmentation.desc))

    run_dir = execution.work_dir / f"subseg_{segmentation.desc}_wf"
    crash_dir = run_dir / "crash"
    nipype_config.set("execution", "crashdump_dir", str(crash_dir))
    nipype_config.set("execution", "remove_unnecessary_outputs", "false")
    nipype_config.set("monitoring", "enabled", "false")
    workflow = init_subseg_wf(
        t1w_files=todo, metadata=metadata, output_dir=execution.output_dir, work_dir=execution.work_dir,
        engine=segmentation.engine, engine_options=options, desc=segmentation.desc, device=execution.device,
        omp_nthreads=config.nipype.omp_nthreads, preprocessing=config.preprocessing.workflow_arguments(),
        write_probseg=segmentation.write_probseg, engine_labels=model_labels,
        name=f"subseg_{segmentation.desc}_wf",
    )
    workflow.config["execution"]["crashdump_dir"] = str(crash_dir)
    plugin, plugin_args = config.nipype.plugin, dict(config.nipype.plugin_args)
    if plugin == "MultiProc" and config.nipype.nprocs == 1:
        plugin = "Linear"  # the same graph, without a pool of worker processes to start
    elif plugin == "MultiProc":
        plugin_args.setdefault("n_procs", config.nipype.nprocs)
        plugin_args.setdefault("raise_insufficient", False)
    elif plugin in ("SLURM", "SLURMGraph"):
        os.environ.setdefault("LOGNAME", os.environ.get("USER") or str(os.getuid()))  # nipype names jobs after it
    started = {path for path in crash_dir.glob("crash-*")} if crash_dir.exists() else set()
    progress = None
    if plugin != "SLURMGraph":  # nipype's graph plugins take no status callback
        progress = WorkflowProgress(workflow, {branch_name(t1w): t1w.name for t1w in todo})
        plugin_args["status_callback"] = progress
    try:
        if plugin == "MultiProc":
            from .utils.workers import OrphanFreeMultiProcPlugin

            workflow.run(plugin=OrphanFreeMultiProcPlugin(plugin_args))  # workers die with this process
        else:
            workflow.run(plugin=plugin, plugin_args=plugin_args)
    except RuntimeError:
        pass  # each failed image is reported below from its crash file
    finally:
        if progress is not None:
            progress.close()
    if plugin == "SLURMGraph":
        LOGGER.info("Submitted %d image(s) to SLURM as one job graph; when the jobs have finished, rerun this "
                    "command: it keeps the finished outputs, reports failures and completes dseg.tsv", len(todo))
        return 0
    failed = report_failures(crash_dir, started, todo)
    update_dseg_tsv(execution.output_dir,
                    table_labels(execution.output_dir, t1w_files, segmentation.desc, model_labels),
                    segmentation.desc)
    LOGGER.info("Segmented %d of %d image(s); outputs in %s", len(todo) - len(failed), len(todo),
                execution.output_dir)
    flagged = report_quality_flags(execution.output_dir, [t1w for t1w in t1w_files if t1w not in failed],
                                   segmentation.desc)
    return len(failed) + len(flagged)


def report_quality_flags(output_dir: Path, t1w_files, desc: str) -> list[Path]:
    """Log one line per image whose segmentation failed a plausibility check; return those images."""
    flagged = []
    for t1w in t1w_files:
        dseg = derivative_path(output_dir, t1w, desc=desc, suffix="dseg", extension=".json")
        try:
            flags = json.loads(dseg.read_text()).get("QualityFlags")
        except (OSError, ValueError):
            continue
        if flags:
            flagged.append(t1w)
            LOGGER.error("%s: segmentation kept but flagged as implausible: %s", t1w, "; ".join(flags))
    if flagged:
        LOGGER.error("%d image(s) failed plausibility checks (QualityFlags in their sidecars and reports)",
                     len(flagged))
    return flagged


def report_failures(crash_dir: Path, exclude, t1w_files: list[Path]) -> set[Path]:
    """Log one line per failed image (naming the file and the problem); return the failed images."""
    from .utils.crashes import failures_from_crashfiles
    from .workflows.base import branch_name

    branches = {branch_name(t1w): t1w for t1w in t1w_files}
    failed = set()
    for node, message in failures_from_crashfiles(crash_dir, exclude=exclude):
        t1w = next((path for branch, path in branches.items() if f".{branch}." in f".{node}."), None)
        if t1w is not None and t1w.name not in message:
            message = f"{t1w}: {message}"
        failed.add(t1w)
        LOGGER.error(message)
    if failed:
        LOGGER.info("Tracebacks of the failures are in %s", crash_dir)
    return failed


def table_labels(output_dir: Path, t1w_files, desc: str, model_labels) -> set[int]:
    """The labels of this desc's lookup table: every label written for ``t1w_files``, background, and each
    structure the engine is expected to find, so the group level scores a structure missing from every image."""
    from .interfaces.plausibility import expected_structures

    return set(expected_structures(model_labels)) | labels_written(output_dir, t1w_files, desc)


def labels_written(output_dir: Path, t1w_files, desc: str) -> set[int]:
    """Every label in the volume tables of ``desc`` written for ``t1w_files`` (and background)."""
    labels = {0}
    for t1w in t1w_files:
        volumes = derivative_path(output_dir, t1w, desc=desc, suffix="volumes", extension=".tsv")
        if volumes.is_file():
            labels |= set(pd.read_csv(volumes, sep="\t")["label"])
    return labels
