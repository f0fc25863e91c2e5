"""Pair each T1w with its reference label map and choose the training subjects reproducibly."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from bids.layout import parse_file_entities

from ..utils.bids_io import source_entities
from ..utils.reference_match import match_references
from .checks import TrainingError

LOGGER = logging.getLogger("subseg")

#: Roles in the split file.
TRAIN, HELD_OUT = "train", "held-out"
#: ``--train-run`` value that trains on the first T1w (in BIDS name order) of a subject/session.
FIRST = "first"


@dataclass(frozen=True)
class LabelledImage:
    """A T1w and its reference label map."""

    t1w: Path
    labels: Path

    @property
    def subject(self) -> str:
        return source_entities(self.t1w)["subject"]

    @property
    def name(self) -> str:
        """nnU-Net case name: the T1w's file name without ``_T1w`` and extension."""
        return self.t1w.name.split(".")[0].removesuffix("_T1w")


def collect_references(reference_dir: Path, desc: str | None) -> list[tuple[dict, Path]]:
    """Reference label maps (``*_dseg.nii[.gz]``, with ``desc`` if given) with their source entities."""
    reference_dir = Path(reference_dir)
    found = []
    for path in sorted(reference_dir.glob("sub-*/**/*_dseg.nii*")):
        entities = source_entities(path)
        if not path.name.endswith((".nii", ".nii.gz")) or "subject" not in entities:
            continue
        if desc is not None and parse_file_entities(str(path)).get("desc") != desc:
            continue
        found.append((entities, path))
    if not found:
        raise TrainingError(f"no sub-*/**/*{f'_desc-{desc}' if desc else ''}_dseg.nii[.gz] in reference folder "
                            f"{reference_dir}")
    return found


def pick_run(images: list[LabelledImage], run: str) -> LabelledImage:
    """The image of one subject/session to train on: its only one, else the ``first`` (in BIDS name order) or
    the one of run ``run``."""
    images = sorted(images, key=lambda image: image.t1w.name)
    if run == FIRST or len(images) == 1:
        return images[0]
    for image in images:
        label = source_entities(image.t1w).get("run")
        if label is not None and (str(label) == run or (run.isdigit() and int(label) == int(run))):
            return image
    raise TrainingError(f"--train-run {run}: none of {', '.join(image.t1w.name for image in images)} is run {run}")


def pair_images(t1w_files, references, chosen: list[str] | None, run: str = FIRST) -> dict[str, list[LabelledImage]]:
    """One labelled image per subject and session (the run picked by ``run``), by subject.

    A reference without ``run-`` (or ``acq-``) serves every T1w of its session. Sessions without a reference
    are left out with a message; so are subjects without any, unless named in ``chosen`` (an error).
    """
    t1w_files = sorted(t1w_files, key=lambda path: path.name)
    matched = match_references({t1w: source_entities(t1w) for t1w in t1w_files}, references)
    by_session: dict[tuple, list] = {}
    for t1w in t1w_files:
        entities = source_entities(t1w)
        by_session.setdefault((entities["subject"], entities.get("session", "")), []).append(t1w)
    pairs: dict[str, list[LabelledImage]] = {}
    unlabelled: dict[str, list[str]] = {}
    for (subject, session), images in sorted(by_session.items()):
        where = f"sub-{subject}" + (f" ses-{session}" if session else "")
        labelled = [LabelledImage(t1w, matched[t1w]) for t1w in images if t1w in matched]
        if not labelled:
            unlabelled.setdefault(subject, []).append(where)
            continue
        image = pick_run(labelled, run)
        if len(labelled) > 1:
            LOGGER.info("%s: %d T1w images have a reference; training on %s (--train-run %s)", where,
                        len(labelled), image.t1w.name, run)
        pairs.setdefault(subject, []).append(image)
    for subject, places in unlabelled.items():
        for where in places if subject in pairs else [f"sub-{subject}"]:
            LOGGER.info("%s: no reference label map; not used for training", where)
    for subject in chosen or ():
        if subject in {source_entities(t1w)["subject"] for t1w in t1w_files} and subject not in pairs:
            names = ", ".join(t1w.name for t1w in t1w_files if source_entities(t1w)["subject"] == subject)
            raise TrainingError(f"no reference label map for {names} (sub-{subject}); add one, or leave the "
                                "subject out (--participant-label)")
    return pairs


def choose_subjects(subjects, train_size: int, seed: int) -> list[str]:
    """``train_size`` subjects drawn from ``subjects`` with ``seed``: the same draw for the same inputs.

    >>> choose_subjects(["03", "01", "02", "04"], 2, seed=0) == choose_subjects(["01", "02", "03", "04"], 2, 0)
    True
    """
    pool = sorted(set(subjects))
    if train_size > len(pool):
        raise TrainingError(f"--train-size {train_size}: only {len(pool)} subject(s) have reference label maps "
                            f"({', '.join('sub-' + s for s in pool) or 'none'})")
    return sorted(random.Random(seed).sample(pool, train_size))


def split_table(subjects, train: list[str]) -> pd.DataFrame:
    """``participant_id`` and ``role`` (train or held-out) of each candidate subject."""
    return pd.DataFrame({"participant_id": [f"sub-{s}" for s in sorted(subjects)],
                         "role": [TRAIN if s in train else HELD_OUT for s in sorted(subjects)]})
