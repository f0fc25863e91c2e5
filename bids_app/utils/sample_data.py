"""Build a small real BIDS dataset (with reference labels) from the public scans shipped in ``bids_app/data/sample``.

``subseg sample OUT_DIR`` lays out (no network):

- ``sub-01``: the voxelmorph subject (skull-stripped T1w, 160x192x224, 1 mm, LIA);
- ``sub-02``: the niivue subject (FreeSurfer ``norm.mgz``, 256^3, 1 mm, LIA);
- ``sub-03``: brainchop's raw head, ``ses-1`` as acquired and ``ses-2`` resampled onto a tilted,
  anisotropic RAS grid (no reference labels: a head as it comes off a scanner);
- ``derivatives/reference``: FreeSurfer labels of sub-01 and sub-02 as ``desc-aseg_dseg``;
- ``sourcedata/<origin>/``: where each scan comes from (``SOURCE.md``) and its licence.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import nibabel as nb
import numpy as np

from ..labels import LABELS
from .conform import resample_to_grid


def sample_scans() -> Path:
    """The packaged sample scans: ``voxelmorph/``, ``niivue/``, ``brainchop/``, each with its licence."""
    return Path(str(resources.files("bids_app.data").joinpath("sample")))


def _aseg_only(labels: np.ndarray) -> np.ndarray:
    """Map cortical parcels (1000s, 2000s, 11100s, 12100s) to Left/Right-Cerebral-Cortex, drop unknown labels."""
    labels = labels.astype(np.int32)
    out = labels.copy()
    out[((labels >= 1000) & (labels < 2000)) | ((labels >= 11100) & (labels < 12000))] = 3
    out[((labels >= 2000) & (labels < 3000)) | ((labels >= 12100) & (labels < 13000))] = 42
    known = np.isin(out, np.fromiter(LABELS, dtype=np.int32))
    out[~known] = 0
    return out


def _tilted_anisotropic(image: nb.Nifti1Image) -> nb.Nifti1Image:
    """The same head on a RAS grid of 1.2 x 1.0 x 1.4 mm voxels, tilted by 8 degrees about x."""
    angle = np.deg2rad(8.0)
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    zooms = np.array([1.2, 1.0, 1.4])
    shape = np.ceil(256 / zooms).astype(int)
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(zooms)
    centre = image.affine @ np.r_[np.asarray(image.shape[:3]) / 2, 1]
    affine[:3, 3] = centre[:3] - affine[:3, :3] @ (shape / 2)
    return resample_to_grid(image, shape, affine, order=1, dtype=np.float32)


def _save(image: nb.spatialimages.SpatialImage, path: Path, dtype) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = nb.Nifti1Image(np.asanyarray(image.dataobj).astype(dtype), image.affine)
    out.set_qform(image.affine, code=1)
    out.set_sform(image.affine, code=1)
    out.to_filename(path)


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def make_sample_dataset(out_dir: Path) -> Path:
    """Write the sample BIDS dataset at ``out_dir`` (which must not exist yet) from the packaged scans.

    Everything is written into a temporary folder beside ``out_dir`` and renamed into place at the end, so an
    interrupted call never leaves a half-written dataset.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists: give a new folder for the sample dataset")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _write_sample(sample_scans(), staging)
        staging.chmod(0o755)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _write_sample(scans: Path, out_dir: Path) -> None:
    reference = out_dir / "derivatives" / "reference"

    volume = nb.load(scans / "voxelmorph" / "test_scan_vol.nii.gz")
    _save(volume, out_dir / "sub-01/anat/sub-01_T1w.nii.gz", np.float32)
    seg = nb.load(scans / "voxelmorph" / "test_scan_seg.nii.gz")
    _save(nb.Nifti1Image(_aseg_only(np.asanyarray(seg.dataobj)), seg.affine),
          reference / "sub-01/anat/sub-01_desc-aseg_dseg.nii.gz", np.int16)

    norm = nb.load(scans / "niivue" / "norm.nii.gz")
    _save(norm, out_dir / "sub-02/anat/sub-02_T1w.nii.gz", np.uint8)
    aseg = nb.load(scans / "niivue" / "aparc.a2009s+aseg.nii.gz")
    _save(nb.Nifti1Image(_aseg_only(np.asanyarray(aseg.dataobj)), aseg.affine),
          reference / "sub-02/anat/sub-02_desc-aseg_dseg.nii.gz", np.int16)

    head = nb.load(scans / "brainchop" / "t1_crop.nii.gz")
    _save(head, out_dir / "sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz", np.uint8)
    _save(_tilted_anisotropic(head), out_dir / "sub-03/ses-2/anat/sub-03_ses-2_acq-tilted_T1w.nii.gz", np.float32)

    _write_json(out_dir / "dataset_description.json", {
        "Name": "subseg sample", "BIDSVersion": "1.9.0", "DatasetType": "raw",
        "License": "See the SOURCE.md of each scan's origin (Apache-2.0, BSD-2-Clause, MIT)",
    })
    (out_dir / "participants.tsv").write_text("participant_id\nsub-01\nsub-02\nsub-03\n")
    _write_json(out_dir / "T1w.json", {"MagneticFieldStrength": 1.5})
    _write_json(reference / "dataset_description.json", {
        "Name": "FreeSurfer reference labels", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "FreeSurfer", "Description": "aseg labels (cortical parcels merged)"}],
    })
    sources = out_dir / "sourcedata"
    for origin in ("voxelmorph", "niivue", "brainchop"):
        for name in ("SOURCE.md", "LICENSE"):
            (sources / origin).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scans / origin / name, sources / origin / name)
