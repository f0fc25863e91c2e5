"""BIDS in and out: find the T1w images, name the derivatives, describe the derivatives dataset."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bids.layout import parse_file_entities
from bids.layout.writing import build_path

from .. import __version__
from ..errors import SubsegError, UsageError
from .atomic import atomic_write_text

#: The one pattern that names every derivative of a T1w (no ``space-``: outputs lie on the T1w's grid).
DERIVATIVE_PATTERN = (
    "sub-{subject}[/ses-{session}]/{datatype<anat|figures>|anat}/sub-{subject}[_ses-{session}][_task-{task}]"
    "[_acq-{acquisition}][_ce-{ceagent}][_rec-{reconstruction}][_dir-{direction}][_run-{run}][_echo-{echo}]"
    "[_flip-{flip}][_inv-{inv}][_mt-{mt}][_part-{part}][_proc-{proc}][_chunk-{chunk}][_from-{from}][_to-{to}]"
    "[_mode-{mode}][_space-{space}][_label-{label}][_desc-{desc}]_{suffix}{extension}"
)
#: Entities of a raw T1w that its derivatives keep, so that no two inputs share an output name.
_SOURCE_ENTITIES = ("subject", "session", "task", "acquisition", "ceagent", "reconstruction", "direction", "run",
                    "echo", "flip", "inv", "mt", "part", "proc", "chunk")
CODE_URL = "https://github.com/subseg/subseg"


class BIDSError(SubsegError, ValueError):
    """The input dataset cannot be used as asked."""


class UnknownParticipantError(BIDSError, UsageError):
    """``--participant-label`` names a subject the dataset does not have."""


def collect_t1w(bids_dir: Path, participant_labels=None, session_labels=None, validate=True) -> list[Path]:
    """Every T1w image of the chosen participants and sessions, sorted."""
    from bids import BIDSLayout

    bids_dir = Path(bids_dir)
    if not (bids_dir / "dataset_description.json").is_file():
        raise BIDSError(f"{bids_dir}: not a BIDS dataset (no dataset_description.json)")
    try:
        layout = BIDSLayout(str(bids_dir), validate=validate)
    except Exception as error:  # pybids raises several types for a broken dataset
        raise BIDSError(f"{bids_dir}: cannot index the BIDS dataset: {error}") from None
    subjects = layout.get_subjects()
    if participant_labels:
        missing = sorted(set(participant_labels) - set(subjects))
        if missing:
            raise UnknownParticipantError(f"{bids_dir}: no participant {', '.join('sub-' + m for m in missing)} "
                                          f"(the dataset has {', '.join('sub-' + s for s in subjects) or 'none'})")
    query = dict(suffix="T1w", extension=[".nii", ".nii.gz"], datatype="anat", return_type="filename")
    if participant_labels:
        query["subject"] = list(participant_labels)
    if session_labels:
        query["session"] = list(session_labels)
    files = sorted(Path(path) for path in layout.get(**query))
    if not files:
        chosen = f" for {', '.join('sub-' + p for p in participant_labels)}" if participant_labels else ""
        sessions = f" in session(s) {', '.join(session_labels)}" if session_labels else ""
        raise BIDSError(f"{bids_dir}: no T1w images found{chosen}{sessions}")
    return files


def source_entities(source_file: str | os.PathLike) -> dict:
    """The entities of a raw file that its derivatives keep (subject, session, acq, ce, rec, run)."""
    entities = parse_file_entities(str(source_file))
    return {key: entities[key] for key in _SOURCE_ENTITIES if key in entities}


def derivative_path(output_dir, source_file, **entities) -> Path:
    """Where the derivative of ``source_file`` with ``entities`` (desc, suffix, extension ...) goes.

    >>> str(derivative_path("/out", "/bids/sub-01/ses-A/anat/sub-01_ses-A_run-2_T1w.nii.gz",
    ...                     desc="nnunet", suffix="dseg", extension=".nii.gz"))
    '/out/sub-01/ses-A/anat/sub-01_ses-A_run-2_desc-nnunet_dseg.nii.gz'
    """
    values = {**source_entities(source_file), **{k: v for k, v in entities.items() if v is not None}}
    path = build_path(values, [DERIVATIVE_PATTERN], strict=False)
    if path is None:
        raise ValueError(f"cannot name a derivative of {source_file} with {entities}")
    return Path(output_dir) / path


def check_distinct_outputs(t1w_files, output_dir, desc: str) -> None:
    """Refuse two inputs whose derivatives would share a name (one would overwrite the other)."""
    sources: dict[Path, Path] = {}
    for t1w in t1w_files:
        target = derivative_path(output_dir, t1w, desc=desc, suffix="dseg", extension=".nii.gz")
        if target in sources:
            raise BIDSError(f"{sources[target]} and {t1w} would both be written as {target.name}: their names "
                            f"differ only by something that is not a BIDS entity; rename one of them")
        sources[target] = Path(t1w)


def bids_uri(path: str | os.PathLike, bids_dir: str | os.PathLike, dataset: str = "raw") -> str:
    """A BIDS URI such as ``bids:raw:sub-01/anat/sub-01_T1w.nii.gz``."""
    return f"bids:{dataset}:{Path(os.path.relpath(path, bids_dir)).as_posix()}"


def write_dataset_description(output_dir: Path, bids_dir: Path, name: str = "subseg") -> Path:
    """The derivatives' ``dataset_description.json``, with ``GeneratedBy`` and a link to the raw data."""
    generated_by = {"Name": "subseg", "Version": __version__, "CodeURL": CODE_URL}
    image = os.environ.get("SUBSEG_CONTAINER_IMAGE")
    if image:
        generated_by["Container"] = {"Type": os.environ.get("SUBSEG_CONTAINER_TYPE", "docker"), "Tag": image}
    raw = {}
    raw_description = Path(bids_dir) / "dataset_description.json"
    if raw_description.is_file():
        raw = json.loads(raw_description.read_text())
    source = {"URL": "bids:raw:"}
    if raw.get("DatasetDOI"):
        source["DOI"] = raw["DatasetDOI"]
    description = {
        "Name": f"{name} derivatives of {raw.get('Name', Path(bids_dir).name)}",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [generated_by],
        "SourceDatasets": [source],
        "DatasetLinks": {"raw": Path(os.path.relpath(bids_dir, output_dir)).as_posix()},
    }
    path = Path(output_dir) / "dataset_description.json"
    atomic_write_text(path, json.dumps(description, indent=2) + "\n")
    return path


def write_bidsignore(output_dir: Path, patterns=("work/", "logs/", "group/", "models/", "sub-*.html", "*/figures/")) -> Path:
    """List the folders and files that are not BIDS in ``.bidsignore`` (keeping lines already there)."""
    path = Path(output_dir) / ".bidsignore"
    lines = path.read_text().splitlines() if path.exists() else []
    lines += [pattern for pattern in patterns if pattern not in lines]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
