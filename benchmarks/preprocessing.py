"""Time N4 and affine alignment on one real 1 mm scan, and check the alignment against a known motion.

Usage: ``python benchmarks/preprocessing.py DATA_DIR [--threads 2]`` where ``DATA_DIR`` is the shared
real-data folder (``niivue/norm.mgz`` inside, 256^3 at 1 mm). The template is nilearn's ICBM 2009a,
placed in a TemplateFlow home in a temporary folder, so nothing is downloaded. The scan is moved by a
known rigid motion (10 degrees, 12 mm) and given a smooth bias field; N4 then alignment run on it, and
the alignment of the untouched scan gives the reference the motion is measured against. Logs seconds
per step and the rotation and brain-displacement errors of the recovered motion.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import nibabel as nb
import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from bids_app.interfaces.bias import correct_bias
from bids_app.interfaces.registration import register_affine
from bids_app.interfaces.transforms import lps_matrix
from bids_app.utils.templates import NILEARN_TEMPLATE, build_templateflow_home, get_template_file

logger = logging.getLogger("subseg")
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _moved_and_biased(scan: nb.Nifti1Image, motion: np.ndarray) -> nb.Nifti1Image:
    """``scan`` after the head moved by ``motion`` (RAS world), times a smooth multiplicative field."""
    data = scan.get_fdata(dtype=np.float32)
    voxel_map = np.linalg.inv(scan.affine) @ np.linalg.inv(motion) @ scan.affine
    moved = ndimage.affine_transform(data, voxel_map[:3, :3], voxel_map[:3, 3], order=1)
    x, y, z = (axis / (size / 2.0) - 1.0 for axis, size in zip(np.indices(data.shape, dtype=np.float32), data.shape))
    return nb.Nifti1Image(moved * np.exp(0.25 * x - 0.2 * y * z + 0.15 * z**2), scan.affine)


def _in_memory(path: Path) -> nb.Nifti1Image:
    """The image at ``path``, read now (the temporary TemplateFlow home goes away)."""
    image = nb.load(path)
    return nb.Nifti1Image(np.asanyarray(image.dataobj), image.affine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="shared real-data folder")
    parser.add_argument("--threads", type=int, default=2, help="SimpleITK threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with tempfile.TemporaryDirectory() as home:
        os.environ["TEMPLATEFLOW_HOME"] = str(build_templateflow_home(home))
        template = _in_memory(get_template_file(NILEARN_TEMPLATE))
        mask = _in_memory(get_template_file(NILEARN_TEMPLATE, suffix="mask", desc="brain"))
    scan = nb.load(args.data_dir / "niivue" / "norm.mgz")
    motion = np.eye(4)
    motion[:3, :3] = Rotation.from_euler("xyz", [8.0, -6.0, 10.0], degrees=True).as_matrix()
    motion[:3, 3] = [7.0, -5.0, 9.0]
    moved = _moved_and_biased(scan, motion)
    logger.info("scan %s, %s mm, %d threads", scan.shape, scan.header.get_zooms(), args.threads)

    start = time.perf_counter()
    corrected, _ = correct_bias(moved, nthreads=args.threads)
    n4_seconds = time.perf_counter() - start
    start = time.perf_counter()
    transform, registration = register_affine(corrected, template, mask, nthreads=args.threads)
    registration_seconds = time.perf_counter() - start
    logger.info("N4 %.1f s, affine alignment %.1f s, together %.1f s (budget 60 s)",
                n4_seconds, registration_seconds, n4_seconds + registration_seconds)
    logger.info("final Mattes MI %.4f", registration["FinalMetricValue"])

    reference, _ = register_affine(scan, template, mask, nthreads=args.threads)
    expected = _RAS_TO_LPS @ motion @ _RAS_TO_LPS @ lps_matrix(reference)
    error = np.linalg.inv(expected) @ lps_matrix(transform)
    left, _, right = np.linalg.svd(error[:3, :3])
    angle = np.degrees(np.arccos(np.clip((np.trace(left @ right) - 1.0) / 2.0, -1.0, 1.0)))
    brain = np.argwhere(np.asanyarray(mask.dataobj) > 0)
    points = np.c_[brain, np.ones(len(brain))] @ (_RAS_TO_LPS @ mask.affine).T
    displacement = np.linalg.norm((points @ expected.T - points @ lps_matrix(transform).T)[:, :3], axis=1)
    logger.info("recovered motion: rotation error %.2f degrees, brain displacement error mean %.2f mm, max %.2f mm",
                angle, displacement.mean(), displacement.max())


if __name__ == "__main__":
    main()
