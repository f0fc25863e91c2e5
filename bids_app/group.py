"""Group level: collect the participant level's label maps and references, score them, write the reports.

Outputs go to ``<output_dir>/group/``: ``metrics.tsv``, ``summary.tsv``, ``symmetry.tsv``,
``symmetry_pairs.tsv``, ``volumes.tsv``, ``folded_labels.tsv`` (FreeSurfer parcels folded into the structure
they subdivide before scoring), ``headline.tsv``, ``headline.md`` and ``report.html``; with several
sessions per subject, ``longitudinal.tsv`` (volume change from the first session).
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd

from bids_app.config import Config
from bids_app.errors import SubsegError
from bids_app.labels import LABELS, resolve_labels
from bids_app.metrics import longitudinal
from bids_app.metrics.label_maps import file_stamp
from bids_app.metrics.scoring_pool import score_maps
from bids_app.metrics.subject import ImageJob, load_kernels, score_or_reason
from bids_app.reports import group as group_report
from bids_app.reports import tables
from bids_app.utils.atomic import atomic_path
from bids_app.utils.lookup_table import lookup_table_path, table_indices
from bids_app.utils.memory import keep_freed_memory
from bids_app.utils.progress import Progress
from bids_app.utils.reference_match import match_references
from bids_app.utils.resources import peak_memory_mib

logger = logging.getLogger("subseg")

#: BIDS entities that identify one image (besides ``desc``), in column order.
IMAGE_ENTITIES = ("subject", "session", "acquisition", "reconstruction", "run")


class GroupError(SubsegError):
    """Bad input that stops the group level (a one-line message for the user)."""


def _layout(folder: Path, role: str):
    """A pybids layout of a derivatives folder; refuses a folder without dataset_description.json."""
    from bids import BIDSLayout

    if not folder.is_dir():
        raise GroupError(f"{role} folder {folder} does not exist")
    if not (folder / "dataset_description.json").is_file():
        raise GroupError(f"{role} folder {folder} has no dataset_description.json: not a BIDS derivatives folder")
    return BIDSLayout(str(folder), validate=False, config=["bids", "derivatives"])


def _image_key(entities: dict) -> tuple:
    return tuple(str(entities.get(name, "")) for name in IMAGE_ENTITIES)


def collect_label_maps(folder: Path, role: str, descs, participant_labels) -> list[tuple[dict, Path]]:
    """``(entities, path)`` of every ``*_dseg.nii[.gz]`` in ``folder`` with one of ``descs`` (any if None)."""
    query = {"suffix": "dseg", "extension": [".nii.gz", ".nii"]}
    if descs:
        query["desc"] = list(descs)
    if participant_labels:
        query["subject"] = [label.removeprefix("sub-") for label in participant_labels]
    found = []
    for image in _layout(folder, role).get(**query):
        entities = image.get_entities()
        found.append(({name: str(entities.get(name, "")) for name in (*IMAGE_ENTITIES, "desc")}, Path(image.path)))
    return sorted(found, key=lambda item: (item[0]["desc"], _image_key(item[0])))


def table_labels(output_dir: Path, desc: str) -> tuple[int, ...] | None:
    """Non-zero labels of the lookup table ``desc-<desc>_dseg.tsv`` or ``dseg.tsv`` (None if absent)."""
    for table in (lookup_table_path(output_dir, desc), lookup_table_path(output_dir)):
        if table.is_file():
            indices = table_indices(table)
            unknown = [index for index in indices if index and index not in LABELS]
            if unknown:
                logger.warning("%s: labels unknown to the FreeSurfer table, not scored: %s", table, unknown)
            return tuple(index for index in indices if index and index in LABELS)
    return None


def dataset_name(bids_dir: Path) -> str:
    """The raw dataset's ``Name`` (the folder name, with a warning, when it has none)."""
    description = bids_dir / "dataset_description.json"
    try:
        name = json.loads(description.read_text()).get("Name", "")
    except (OSError, ValueError):
        name = ""
    if not name:
        logger.warning("%s has no dataset Name; the headline table uses the folder name", description)
    return name or bids_dir.resolve().name


def _score_all(jobs: list[ImageJob], nprocs: int) -> tuple[list[dict], list[str]]:
    """Scores of the label maps that can be scored, and one line per one that cannot (each logged)."""
    progress, start = Progress(len(jobs), "label maps scored"), time.perf_counter()
    try:
        if nprocs <= 1 or len(jobs) <= 1:
            outcomes = [progress.done(job.prediction.name, score_or_reason(job)) for job in jobs]
        else:
            load_kernels()  # once here rather than once per worker
            outcomes = score_maps(jobs, min(nprocs, len(jobs)),
                                  lambda job, outcome: progress.done(job.prediction.name, outcome))
    except BrokenProcessPool:
        raise GroupError(f"a scoring process was killed (most often by the system, for want of memory): rerun "
                         f"with fewer --nprocs than {nprocs}; nothing was written") from None
    finally:
        progress.close()
    logger.info("scored in %.1f s; peak memory %.0f MiB in the largest process", time.perf_counter() - start,
                peak_memory_mib())
    for _, reason in outcomes:
        if reason:
            logger.error(reason)
    return [result for result, _ in outcomes if result is not None], [reason for _, reason in outcomes if reason]


def _say_folded(folded: pd.DataFrame) -> None:
    """One log line on the parcels folded before scoring (the details are in folded_labels.tsv)."""
    if folded.empty:
        return
    pairs = folded.drop_duplicates(["label"]).sort_values("label")
    examples = ", ".join(f"{row.label} {row.structure}" for row in pairs.head(3).itertuples())
    targets = ", ".join(sorted(set(pairs["into_structure"])))
    logger.info("FreeSurfer parcels not scored as such (%d labels, e.g. %s) were folded into %s before scoring, "
                "as in aseg; see group/folded_labels.tsv", len(pairs), examples, targets)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, na_rep="n/a")


def run_group(config: Config) -> None:
    """Score every label map of the output folder (against the reference folder where given) and write reports.

    ``config.evaluation.labels`` (FreeSurfer names or numbers) are the structures to score; None: those the
    prediction's model knows (its lookup table).
    """
    execution, evaluation = config.execution, config.evaluation
    bids_dir, output_dir = Path(execution.bids_dir), Path(execution.output_dir)
    descs, labels, participant_labels = evaluation.descs, evaluation.labels, execution.participant_labels
    reference_dir, reference_desc = config.references.reference_dir, config.references.reference_desc
    tolerance_mm, swap_threshold, nprocs = evaluation.tolerance_mm, evaluation.swap_threshold, config.nipype.nprocs
    if tolerance_mm <= 0:
        raise GroupError(f"--tolerance-mm must be positive, got {tolerance_mm}")
    chosen = resolve_labels(labels) if labels else None
    predictions = collect_label_maps(output_dir, "output", descs, participant_labels)
    if not predictions:
        wanted = f" with desc {', '.join(descs)}" if descs else ""
        raise GroupError(f"no *_dseg.nii.gz{wanted} in {output_dir}: run the participant level first")
    references = {}
    if reference_dir is not None:
        found = collect_label_maps(Path(reference_dir), "reference", [reference_desc] if reference_desc else None,
                                   participant_labels)
        if not found:
            raise GroupError(f"no *_desc-{reference_desc or '*'}_dseg.nii.gz in reference folder {reference_dir}")
        references = match_references({path.name: entities for entities, path in predictions}, found)
    jobs, unmatched = [], []
    for entities, path in predictions:
        reference = references.get(path.name)
        if reference_dir is not None and reference is None:
            logger.warning("%s: no reference label map; only its volumes are reported", path.name)
            unmatched.append(path.name)
        jobs.append(ImageJob(path, reference, entities, chosen or table_labels(output_dir, entities["desc"]),
                             tolerance_mm, swap_threshold, file_stamp(path, reference)))
    logger.info("scoring %d label maps (%d with a reference) on %d process(es)",
                len(jobs), sum(job.reference is not None for job in jobs), nprocs)
    keep_freed_memory()  # before the workers fork, so that they inherit it
    results, failures = _score_all(jobs, nprocs)
    try:
        _write_reports(results, output_dir, bids_dir, unmatched, jobs)
    except OSError as error:
        raise GroupError(f"{output_dir / 'group'}: cannot write the group reports "
                         f"({error.strerror or error})") from None
    if failures:
        raise GroupError(f"{len(failures)} of {len(jobs)} label map(s) could not be scored (see the messages "
                         f"above); the others are in {output_dir / 'group'}")


def _write_reports(results, output_dir: Path, bids_dir: Path, unmatched, jobs) -> None:
    """The group tables and reports of ``results`` under ``output_dir/group``."""
    frames = {name: pd.DataFrame([row for result in results for row in result[name]],
                                 columns=tables.COLUMNS[name])
              for name in ("metrics", "volumes", "symmetry", "symmetry_pairs", "folded_labels")}
    _say_folded(frames["folded_labels"])
    group_dir = output_dir / "group"
    for name, frame in frames.items():
        _write_table(frame, group_dir / f"{name}.tsv")
    change = longitudinal.volume_change(frames["volumes"],
                                        longitudinal.session_times(bids_dir, frames["volumes"]["subject"]))
    if len(change):
        _write_table(change, group_dir / "longitudinal.tsv")
    summary = tables.summarize(frames["metrics"])
    _write_table(summary, group_dir / "summary.tsv")
    name = dataset_name(bids_dir)
    headline = tables.headline(frames["metrics"], name)
    _write_table(headline, group_dir / "headline.tsv")
    with atomic_path(group_dir / "headline.md") as tmp:
        tmp.write_text(tables.headline_markdown(frames["metrics"], name))
    with atomic_path(group_dir / "report.html") as tmp:
        tmp.write_text(group_report.render(frames, summary, headline, name, unmatched, jobs, bids_dir,
                                               change))
    logger.info("group reports written to %s", group_dir)
