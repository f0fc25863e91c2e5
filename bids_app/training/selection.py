"""Pair each T1w with its reference label map and choose the training subjects reproducibly."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from bids.layout import parse_file_entities

from ..utils.bids_io import source_entities
from .checks import TrainingError

LOGGER = logging.getLogger("subseg")

#: Roles in the split file.
TRAIN, HELD_OUT = "train", "held-out"


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


def _key(path) -> tuple:
    return tuple(sorted(source_entities(path).items()))


def collect_references(reference_dir: Path, desc: str | None) -> dict[tuple, Path]:
    """Reference label maps (``*_dseg.nii[.gz]``, with ``desc`` if given) by their source entities."""
    reference_dir = Path(reference_dir)
    found = {}
    for path in sorted(reference_dir.glob("sub-*/**/*_dseg.nii*")):
        entities = source_entities(path)
        if not path.name.endswith((".nii", ".nii.gz")) or "subject" not in entities:
            continue
        if desc is not None and parse_file_entities(str(path)).get("desc") != desc:
            continue
        key = _key(path)
        if key in found:
            raise TrainingError(f"several reference label maps for one image ({found[key].name}, {path.name}): "
                                "choose one with --reference-desc")
        found[key] = path
    if not found:
        raise TrainingError(f"no sub-*/**/*{f'_desc-{desc}' if desc else ''}_dseg.nii[.gz] in reference folder "
                            f"{reference_dir}")
    return found


def pair_images(t1w_files, references: dict[tuple, Path], chosen: list[str] | None) -> dict[str, list[LabelledImage]]:
    """Labelled images by subject; every T1w of a subject must have its reference.

    Subjects without any reference are left out (with a message) unless named in ``chosen``, which is an error.
    """
    by_subject: dict[str, list] = {}
    for t1w in t1w_files:
        by_subject.setdefault(source_entities(t1w)["subject"], []).append(t1w)
    pairs = {}
    for subject, images in sorted(by_subject.items()):
        matched = {t1w: references.get(_key(t1w)) for t1w in images}
        missing = [t1w.name for t1w, labels in matched.items() if labels is None]
        if len(missing) == len(images) and not (chosen and subject in chosen):
            LOGGER.info("sub-%s: no reference label map; not a training candidate", subject)
            continue
        if missing:
            raise TrainingError(f"no reference label map for {', '.join(missing)} (sub-{subject}); add it, "
                                "or leave the subject or session out (--participant-label, --session-label)")
        pairs[subject] = [LabelledImage(t1w, labels) for t1w, labels in matched.items()]
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
