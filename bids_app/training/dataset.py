"""Write an nnU-Net v2 raw dataset (``imagesTr``, ``labelsTr``, ``dataset.json``) from T1w/label pairs.

Images and labels are conformed to RAS exactly as the participant level conforms a T1w before inference
(:data:`bids_app.engines.nnunet.CONFORM`), so the model sees the same voxel order in training and use.
FreeSurfer label numbers become consecutive indices; ``dataset.json`` keeps the FreeSurfer names, which is
how :class:`~bids_app.engines.nnunet.NNUNetEngine` maps the model's outputs back to FreeSurfer numbers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import nibabel as nb
import numpy as np

from ..labels import LABELS, fold_parcels, label_index
from ..utils.conform import conform

LOGGER = logging.getLogger("subseg")

#: The orientation training data are written in; inference conforms to the same.
ORIENTATION = "RAS"
#: nnU-Net reader/writer named in ``dataset.json`` (reads NIfTI arrays as (z, y, x)).
READER_WRITER = "SimpleITKIO"


@dataclass(frozen=True)
class TrainingCase:
    """One training image: a T1w and its FreeSurfer label map on the same grid."""

    name: str
    image: nb.Nifti1Image | str | Path
    labels: nb.Nifti1Image | str | Path
    subject: str | None = None
    """Cases of one subject stay in one cross-validation fold; None: the case is its own subject."""


def dataset_folder_name(dataset_id: int, name: str) -> str:
    """nnU-Net's folder name for a dataset (``Dataset501_Subcortical``)."""
    if not 0 < int(dataset_id) < 1000:
        raise ValueError(f"nnU-Net dataset ids are 1..999, not {dataset_id}")
    return f"Dataset{int(dataset_id):03d}_{name}"


def label_table(freesurfer_labels) -> dict[str, int]:
    """``dataset.json`` labels: background 0, then the FreeSurfer labels by number as 1, 2, ...

    >>> label_table([49, 10])
    {'background': 0, 'Left-Thalamus': 1, 'Right-Thalamus': 2}
    """
    table = {"background": 0}
    for consecutive, index in enumerate(sorted(set(int(i) for i in freesurfer_labels) - {0}), start=1):
        if index not in LABELS:
            raise ValueError(f"{index} is not a FreeSurfer label number")
        table[LABELS[index].name] = consecutive
    return table


def remap_labels(freesurfer: np.ndarray, table: dict[str, int]) -> np.ndarray:
    """FreeSurfer numbers to the consecutive indices of ``table``; labels not in it become background."""
    lookup = {label_index(name): value for name, value in table.items() if value}
    out = np.zeros(freesurfer.shape, dtype=np.uint8)
    for index, value in lookup.items():
        out[freesurfer == index] = value
    return out


def _load(image) -> nb.Nifti1Image:
    return image if isinstance(image, nb.spatialimages.SpatialImage) else nb.load(str(image))


def _describe(image) -> str:
    return f"(in-memory image {image.shape})" if isinstance(image, nb.spatialimages.SpatialImage) else str(image)


def _save(data: np.ndarray, affine: np.ndarray, path: Path) -> None:
    image = nb.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.to_filename(path)


def write_raw_dataset(cases, raw_dir, dataset_id: int, name: str, freesurfer_labels) -> Path:
    """Write ``cases`` as nnU-Net raw dataset ``dataset_id`` under ``raw_dir``; return its folder."""
    cases = list(cases)
    if not cases:
        raise ValueError("no training cases given")
    folder = Path(raw_dir) / dataset_folder_name(dataset_id, name)
    (folder / "imagesTr").mkdir(parents=True, exist_ok=True)
    (folder / "labelsTr").mkdir(parents=True, exist_ok=True)
    table = label_table(freesurfer_labels)
    folded: dict[str, set] = {}
    for case in cases:
        image = conform(_load(case.image), ORIENTATION)
        labels = conform(_load(case.labels), ORIENTATION)
        if image.shape[:3] != labels.shape[:3] or not np.allclose(image.affine, labels.affine, atol=1e-3):
            raise ValueError(f"case {case.name}: labels {_describe(case.labels)} are not on the grid of "
                             f"image {_describe(case.image)}")
        data = np.asanyarray(image.dataobj, dtype=np.float32)
        if data.ndim != 3:
            raise ValueError(f"case {case.name}: image {_describe(case.image)} is not a 3D volume")
        freesurfer, parcels = fold_parcels(np.asanyarray(labels.dataobj).astype(np.int32), freesurfer_labels)
        for parcel, (parent, _) in parcels.items():
            if parent in freesurfer_labels:
                folded.setdefault(LABELS[parent].name, set()).add(parcel)
        remapped = remap_labels(freesurfer, table)
        missing = sorted(set(table.values()) - set(np.unique(remapped).tolist()))
        if missing:
            LOGGER.warning("Training case %s lacks labels %s", case.name, missing)
        _save(data, image.affine, folder / "imagesTr" / f"{case.name}_0000.nii.gz")
        _save(remapped, image.affine, folder / "labelsTr" / f"{case.name}.nii.gz")
    description = {
        "name": name,
        "description": "Written by subseg from FreeSurfer labels; label names are FreeSurfer names",
        "channel_names": {"0": "T1"},
        "labels": table,
        "numTraining": len(cases),
        "file_ending": ".nii.gz",
        "overwrite_image_reader_writer": READER_WRITER,
        "subseg_orientation": ORIENTATION,
        "subseg_folded_parcels": {name: sorted(parcels) for name, parcels in sorted(folded.items())},
    }
    if folded:
        LOGGER.info("FreeSurfer parcels in the reference label maps were folded into %s, as in aseg (listed in "
                    "dataset.json and training.json)", ", ".join(sorted(folded)))
    (folder / "dataset.json").write_text(json.dumps(description, indent=2) + "\n")
    LOGGER.info("Wrote nnU-Net raw dataset %s (%d cases, %d labels)", folder, len(cases), len(table) - 1)
    return folder
