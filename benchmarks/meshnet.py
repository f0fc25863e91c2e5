"""Time the MeshNet engine on one real 1 mm head, and a plain PyTorch run of the same networks.

Usage: python benchmarks/meshnet.py T1W [--threads N] [--device auto|cpu|cuda] [--skip-plain] [--tta]

Prints wall seconds, CPU seconds and peak RSS (``resource.getrusage``) for ``MeshNetEngine.predict``, then
for a plain unoptimised run of the same pipeline and crops (each network at once by ``MeshNet.forward``:
NCDHW, every layer and all logits held whole) and the ratio. Peak RSS is the process maximum, so the plain
run goes second. (Without the crops, the plain run would need about 10 GB for the 104-class logits alone.)
"""

from __future__ import annotations

import argparse
import logging
import resource
import time

import nibabel as nb
import numpy as np
import torch

from bids_app.engines.meshnet import CONFORM, MeshNetEngine
from bids_app.engines.meshnet.engine import BRAIN_CROP_PADDING, BRAIN_THRESHOLD, SEGMENTATION_CROP_PADDING
from bids_app.engines.meshnet.preprocess import bounding_box, largest_component, min_max, uint8_intensities
from bids_app.utils.conform import conform


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(label: str, function):
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = function()
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS so far {_peak_rss_gb():.2f} GB", flush=True)
    return result, wall


def _plain_run(engine: MeshNetEngine, image) -> np.ndarray:
    """The same pipeline and crops, but each network run at once by ``MeshNet.forward`` (NCDHW, all logits)."""
    volume = min_max(uint8_intensities(np.asanyarray(conform(image, **CONFORM).dataobj)))

    def run(network, box):
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(volume[box]))[None, None].to(engine.device)
            return network(tensor).argmax(1)[0].cpu().numpy()

    head_box = bounding_box(volume > BRAIN_THRESHOLD, BRAIN_CROP_PADDING)
    brain = np.zeros(volume.shape, bool)
    brain[head_box] = run(engine.extractor.network, head_box) > 0
    brain_box = bounding_box(largest_component(brain), SEGMENTATION_CROP_PADDING)
    labels = np.zeros(volume.shape, np.int64)
    labels[brain_box] = run(engine.segmenter.network, brain_box)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("t1w", help="a T1w image (e.g. brainchop's t1_crop.nii.gz)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--skip-plain", action="store_true", help="time only the engine")
    parser.add_argument("--tta", action="store_true", help="the engine with its test-time left-right flip")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    image = nb.load(args.t1w)
    engine = MeshNetEngine(device=args.device, omp_nthreads=args.threads, tta=args.tta)
    print(f"device {engine.device}, {torch.get_num_threads()} threads, image {image.shape}", flush=True)
    _, ours = _timed("MeshNetEngine.predict", lambda: engine.predict(image))
    if not args.skip_plain:
        _, plain = _timed("plain torch (same crops, whole-volume forward)", lambda: _plain_run(engine, image))
        print(f"speed-up: {plain / ours:.1f}x")


if __name__ == "__main__":
    main()
