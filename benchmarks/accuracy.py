"""Accuracy of each engine on the labelled sample subjects, and on copies stored as scanners store them.

Usage: python benchmarks/accuracy.py DATA_DIR [--engines meshnet synthseg nnunet] [--nnunet-model DIR]
       [--subjects voxelmorph niivue] [--copies ...] [--order 1|3]

DATA_DIR holds ``voxelmorph/`` and ``niivue/`` (the labelled subjects of ``bids_app.utils.sample_data``).
Each head is segmented as given and as copies: ``odd-crop`` (cropped to odd dimensions around the head),
``sag-1.2mm`` (resampled to 1.2 x 1 x 1 mm, stored sagittal with 1.2 mm through-plane),
``iso-0.8mm``, ``rot15-header`` (voxels unchanged, the header rotated 15 degrees about the left-right axis),
``int16-spikes`` (int16: scaled, a background offset, a few negative voxels and spikes at the int16 extremes).
No labelled head with its skull is available, so the with/without-skull pair is measured on the raw head of
``brainchop/`` (no labels) as agreement: each engine segments it as given and skull-stripped (MeshNet's brain
mask), and the mean Dice between the two label maps is printed (``--no-raw-head`` skips it). Resampled copies are
made with a cubic B-spline. Labels come back onto the copy's grid as the engine returns them and are then
carried to the original grid (nearest neighbour) to be scored against the FreeSurfer labels. ``--order``
chooses the interpolation that conforms the T1w to MeshNet's grid (1: trilinear, 3: the default cubic).

Prints one Markdown row per engine and subject: mean Dice over the 16 Left/Right subcortical structures per
copy, the spread (max - min) over copies, and seconds per head (and, per run, the process's peak memory).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import nibabel as nb
import numpy as np
from scipy import ndimage

from bids_app.labels import SUBCORTICAL
from bids_app.utils.conform import conform, resample_like
from bids_app.utils.sample_data import _aseg_only

COPIES = ["original", "odd-crop", "sag-1.2mm", "iso-0.8mm", "rot15-header", "int16-spikes"]


def _lia_affine(shape) -> np.ndarray:
    """FreeSurfer's conformed LIA affine for a 1 mm grid of ``shape``, centred on the origin."""
    affine = np.array([[-1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
    affine[:3, 3] = -affine[:3, :3] @ (np.asarray(shape, dtype=float) / 2)
    return affine


def load_subjects(data_dir: Path, names) -> dict:
    """name -> (T1w image, FreeSurfer aseg labels on its grid)."""
    subjects = {}
    if "voxelmorph" in names:
        scan = np.load(data_dir / "voxelmorph" / "test_scan.npz")
        affine = _lia_affine(scan["vol"].shape)
        subjects["voxelmorph"] = (nb.Nifti1Image(scan["vol"].astype(np.float32), affine), _aseg_only(scan["seg"]))
    if "niivue" in names:
        norm = nb.load(data_dir / "niivue" / "norm.mgz")
        labels = np.asanyarray(nb.load(data_dir / "niivue" / "aparc.a2009s+aseg.mgz").dataobj)
        subjects["niivue"] = (nb.Nifti1Image(np.asanyarray(norm.dataobj), norm.affine), _aseg_only(labels))
    return subjects


def _grid(image, codes, zooms):
    """A grid with axes ``codes`` and voxel size ``zooms`` covering ``image``'s field of view."""
    directions = {"R": (1, 0, 0), "L": (-1, 0, 0), "A": (0, 1, 0), "P": (0, -1, 0), "S": (0, 0, 1), "I": (0, 0, -1)}
    axes = np.array([directions[code] for code in codes], float).T
    corners = np.array([[i, j, k, 1] for i in (0, image.shape[0] - 1) for j in (0, image.shape[1] - 1)
                        for k in (0, image.shape[2] - 1)], float)
    world = (image.affine @ corners.T)[:3]
    extent = (axes.T @ world).max(1) - (axes.T @ world).min(1)
    shape = np.ceil(extent / np.asarray(zooms)).astype(int) + 1
    affine = np.eye(4)
    affine[:3, :3] = axes * np.asarray(zooms)
    centre = image.affine @ np.r_[(np.asarray(image.shape) - 1) / 2, 1]
    affine[:3, 3] = centre[:3] - affine[:3, :3] @ ((shape - 1) / 2)
    return tuple(int(s) for s in shape), affine


def _cubic(data: np.ndarray, vox_to_vox: np.ndarray, shape) -> np.ndarray:
    """Cubic B-spline resampling (prefiltered, clipped to the input's range), as a scanner-side resampling."""
    out = ndimage.affine_transform(data, vox_to_vox[:3, :3], vox_to_vox[:3, 3], output_shape=shape, order=3,
                                   mode="grid-constant", prefilter=True, output=np.float32)
    return np.clip(out, data.min(), data.max())


def make_copy(name: str, image: nb.Nifti1Image, seed: int = 0):
    """The copy and the affine that places its voxels in the original head's world (for scoring)."""
    data = np.asanyarray(image.dataobj).astype(np.float32)
    if name == "original":
        return image, image.affine
    if name == "odd-crop":
        box = [np.flatnonzero(np.any(data > 0, axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
        slices = []
        for found, size in zip(box, data.shape):
            start, stop = max(0, found[0] - 9), min(size, found[-1] + 10)
            stop -= (stop - start) % 2 == 0
            slices.append(slice(start, stop))
        copy = image.slicer[tuple(slices)]
        return nb.Nifti1Image(np.asanyarray(copy.dataobj), copy.affine), copy.affine
    if name in ("sag-1.2mm", "iso-0.8mm"):
        codes, zooms = (("A", "S", "L"), (1.0, 1.0, 1.2)) if name == "sag-1.2mm" else (nb.aff2axcodes(image.affine),
                                                                                   (0.8, 0.8, 0.8))
        shape, affine = _grid(image, codes, zooms)
        return nb.Nifti1Image(_cubic(data, np.linalg.inv(image.affine) @ affine, shape), affine), affine
    if name == "rot15-header":
        angle = np.deg2rad(15)
        rotation = np.eye(4)
        rotation[1:3, 1:3] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        return nb.Nifti1Image(data, rotation @ image.affine), image.affine
    if name == "int16-spikes":
        rng = np.random.default_rng(seed)
        scaled = np.ascontiguousarray(data * (3000.0 / np.percentile(data[data > 0], 99.9)) + 100.0)
        flat = scaled.reshape(-1)  # a view: the spikes land in the copy
        spots = rng.choice(flat.size, 60, replace=False)
        flat[spots[:20]], flat[spots[20:40]], flat[spots[40:]] = 32767, -32768, -50
        return nb.Nifti1Image(np.round(scaled).astype(np.int16), image.affine), image.affine
    raise ValueError(f"unknown copy {name}")


def mean_dice(prediction: np.ndarray, reference: np.ndarray) -> float:
    scores = []
    for label in SUBCORTICAL:
        a, b = prediction == label, reference == label
        total = np.count_nonzero(a) + np.count_nonzero(b)
        scores.append(2.0 * np.count_nonzero(a & b) / total if total else np.nan)
    return float(np.nanmean(scores))


def load_engine(name: str, args):
    if name == "meshnet":
        from bids_app.engines.meshnet import CONFORM, MeshNetEngine

        engine = MeshNetEngine(omp_nthreads=args.threads, tta=args.tta)

        def segment(image):
            conformed = conform(image, **CONFORM, order=args.order)
            return engine.predict(conformed, reference=image).labels

        return segment
    if name == "synthseg":
        from bids_app.engines.synthseg import SynthSegEngine
        from bids_app.engines.synthseg.weights import WeightsNotFoundError

        try:
            engine = SynthSegEngine(args.synthseg_weights, omp_nthreads=args.threads)
        except WeightsNotFoundError as error:
            print(f"synthseg skipped: {error}")
            return None
        return lambda image: engine.predict(image).labels
    if name == "nnunet":
        if args.nnunet_model is None:
            print("nnunet skipped: no --nnunet-model")
            return None
        from bids_app.engines.nnunet import NNUNetEngine

        engine = NNUNetEngine(args.nnunet_model, omp_nthreads=args.threads)
        return lambda image: engine.predict(image).labels
    raise ValueError(name)


def skull_agreement(data_dir: Path, segment, threads: int) -> float:
    """Mean Dice (16 structures) between an engine's labels of the raw head as given and skull-stripped."""
    from bids_app.engines.meshnet import MeshNetEngine

    head = nb.load(data_dir / "brainchop" / "t1_crop.nii.gz")
    brain = np.asanyarray(MeshNetEngine(omp_nthreads=threads).predict(head).masks["brain"].dataobj) > 0
    stripped = nb.Nifti1Image(np.where(brain, np.asanyarray(head.dataobj), 0).astype(np.float32), head.affine)
    with_skull = np.asanyarray(segment(head).dataobj)
    return mean_dice(np.asanyarray(segment(stripped).dataobj), with_skull)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--engines", nargs="+", default=["meshnet", "synthseg", "nnunet"])
    parser.add_argument("--subjects", nargs="+", default=["voxelmorph", "niivue"])
    parser.add_argument("--copies", nargs="+", default=COPIES, choices=COPIES)
    parser.add_argument("--nnunet-model", type=Path)
    parser.add_argument("--synthseg-weights", default="synthseg_2.0.h5")
    parser.add_argument("--order", type=int, default=3, choices=(1, 3))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tta", action="store_true", help="meshnet: test-time left-right flip")
    parser.add_argument("--no-raw-head", dest="raw_head", action="store_false",
                        help="skip the with/without-skull agreement on the raw head")
    args = parser.parse_args(argv)

    subjects = load_subjects(args.data_dir, args.subjects)
    print("| engine | subject | " + " | ".join(args.copies) + " | spread | s/head |")
    print("|---" * (len(args.copies) + 4) + "|")
    for engine_name in args.engines:
        segment = load_engine(engine_name, args)
        if segment is None:
            continue
        for subject, (image, reference) in subjects.items():
            scores, seconds = [], []
            for copy_name in args.copies:
                copy, world = make_copy(copy_name, image)
                start = time.perf_counter()
                labels = segment(copy)
                seconds.append(time.perf_counter() - start)
                placed = nb.Nifti1Image(np.asanyarray(labels.dataobj).astype(np.int16), world)
                original_grid = resample_like(placed, nb.Nifti1Image(reference.astype(np.int16), image.affine))
                scores.append(mean_dice(np.asanyarray(original_grid.dataobj), reference))
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
                print(f"  {engine_name} {subject} {copy_name}: {scores[-1]:.3f} ({seconds[-1]:.0f} s, "
                      f"peak RSS so far {peak:.1f} GB)", flush=True)
            print(f"| {engine_name} | {subject} | " + " | ".join(f"{s:.3f}" for s in scores)
                  + f" | {max(scores) - min(scores):.3f} | {np.mean(seconds):.0f} |", flush=True)
        if args.raw_head:
            agreement = skull_agreement(args.data_dir, segment, args.threads)
            print(f"{engine_name}: raw head, mean Dice between its labels with and without skull: {agreement:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
