"""Time SynthSeg's forward pass: our PyTorch port against TensorFlow/Keras, same weights, same input.

Builds the SynthSeg 2.0 U-Net in Keras with seeded random weights, saves it in the published h5 layout,
loads that file with subseg's converter, and times forward passes of each on the same real T1w
(``--data``: a 3D image, e.g. niivue's norm.mgz), after one warm-up pass each. The two frameworks take turns,
so that load from other processes falls on both alike. Prints both median times and their ratio. Memory
is allocated as in the app on CPU (``keep_freed_memory``).

    python benchmarks/synthseg.py --data PATH/norm.mgz --size 160 192 224 --threads 2
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nb
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engines" / "synthseg"))
from synthseg_keras_reference import build_unet, save_published_layout  # noqa: E402

from bids_app.engines.synthseg.convert import load_keras_weights  # noqa: E402
from bids_app.utils.memory import keep_freed_memory  # noqa: E402
from bids_app.engines.synthseg.labels import SEGMENTATION_LABELS  # noqa: E402
from bids_app.engines.synthseg.network import UNet  # noqa: E402
from bids_app.engines.synthseg.pipeline import rescale  # noqa: E402

LOGGER = logging.getLogger("subseg")


def centred_input(path: Path, size) -> np.ndarray:
    """Centre crop/pad of the image to ``size``, rescaled as SynthSeg does: (1, X, Y, Z, 1) float32."""
    data = np.asarray(nb.load(path).dataobj, dtype=np.float32)
    out = np.zeros(size, dtype=np.float32)
    src = tuple(slice(max((d - s) // 2, 0), max((d - s) // 2, 0) + min(d, s)) for d, s in zip(data.shape, size))
    dst = tuple(slice(max((s - d) // 2, 0), max((s - d) // 2, 0) + min(d, s)) for d, s in zip(data.shape, size))
    out[dst] = rescale(data[src])
    return out[None, ..., None]


def median_times(runs: dict, repeats: int) -> dict[str, float]:
    """Median time of each of ``runs`` (name -> callable), called in turn ``repeats`` times after a warm-up."""
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a 3D T1w image")
    parser.add_argument("--size", type=int, nargs=3, default=[160, 192, 224], help="input size (multiples of 32)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both frameworks")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each after the warm-up")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    torch.set_num_threads(args.threads)
    keep_freed_memory()

    image = centred_input(args.data, args.size)
    keras_unet = build_unet(1, len(SEGMENTATION_LABELS["2.0"]))
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "synthseg_2.0.h5"
        save_published_layout([keras_unet], weights)
        unet = UNet(1, len(SEGMENTATION_LABELS["2.0"])).eval()
        load_keras_weights(unet.keras_layers(), weights)

    tensor = torch.from_numpy(image).permute(0, 4, 1, 2, 3).contiguous()
    tf_input = tf.constant(image)
    outputs = {}

    def run_torch():
        with torch.inference_mode():
            outputs["torch"] = unet(tensor)

    def run_tf():
        outputs["tf"] = keras_unet(tf_input, training=False)

    times = median_times({"torch": run_torch, "tf": run_tf}, args.repeats)
    torch_time, tf_time = times["torch"], times["tf"]
    ours = outputs["torch"].permute(0, 2, 3, 4, 1).numpy()
    difference = float(np.abs(ours - outputs["tf"].numpy()).max())
    LOGGER.info("input %s, %d threads, median of %d passes", "x".join(map(str, args.size)), args.threads,
                args.repeats)
    LOGGER.info("PyTorch %s: %.2f s", torch.__version__, torch_time)
    LOGGER.info("TensorFlow %s: %.2f s", tf.__version__, tf_time)
    LOGGER.info("ratio PyTorch/TensorFlow: %.2f (max abs posterior difference %.1e)", torch_time / tf_time,
                difference)
    return 0 if torch_time <= tf_time else 1


if __name__ == "__main__":
    sys.exit(main())
