"""One subject through ``subseg participant`` next to nnU-Net's bare predictor on the same image and model.

Usage: python benchmarks/participant.py [--model NNUNET_MODEL_DIR] [--subject 02] [--threads 2]

The images are those of ``subseg sample``. Without ``--model`` a tiny real
nnU-Net is trained first on the sample dataset (a few minutes on CPU), as the tests do. Each contender runs
in a fresh Python process, so both pay for interpreter start-up, imports and model loading:

- bare: a script that builds the network from the plans, hands it to ``nnUNetPredictor`` and predicts the
  subject's T1w (already reoriented to RAS, as subseg's training data are), then writes the label map;
- subseg: ``subseg bids out participant --participant-label SUBJECT --model MODEL`` (validation, conforming,
  the same predictor, resampling back, volumes, QC picture, report, derivatives);
- meshnet: the default engine on the same subject;
- meshnet+prep: the same with ``--bias-correction --align-to`` nilearn's ICBM 2009a template (TemplateFlow home
  built offline): the difference to meshnet is what N4 and the alignment cost.

Prints seconds and peak memory (the contender's processes summed, as ``memory.py`` measures it) for each
and the ratio subseg / bare (goal: under 1.5). Linux only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import nibabel as nb

from bids_app.utils.conform import conform
from bids_app.utils.sample_data import make_sample_dataset
from bids_app.utils.templates import NILEARN_TEMPLATE, build_templateflow_home
from memory import run_measured  # benchmarks/memory.py, beside this script

#: nnU-Net used the way its own documentation shows for in-memory prediction, without any subseg code.
BARE_PREDICTOR = textwrap.dedent("""
    import sys, torch
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.file_path_utilities import load_json
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    model, image, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(threads)
    plans = PlansManager(load_json(f"{model}/plans.json"))
    dataset = load_json(f"{model}/dataset.json")
    configuration = plans.get_configuration(plans.available_configurations[0])
    heads = plans.get_label_manager(dataset).num_segmentation_heads
    network = nnUNetTrainer.build_network_architecture(plans, configuration, 1, heads, enable_deep_supervision=False)
    checkpoint = torch.load(f"{model}/fold_all/checkpoint_final.pth", map_location="cpu", weights_only=False)
    predictor = nnUNetPredictor(perform_everything_on_device=False, device=torch.device("cpu"), allow_tqdm=False)
    predictor.manual_initialization(network, plans, configuration, [checkpoint["network_weights"]], dataset,
                                    checkpoint["trainer_name"], checkpoint["inference_allowed_mirroring_axes"])
    data, properties = SimpleITKIO().read_images([image])
    labels = predictor.predict_single_npy_array(data, properties, None, None, False)
    SimpleITKIO().write_seg(labels, out, properties)
""")


def _timed_process(label: str, command: list[str], env=None) -> float:
    """Wall seconds of ``command``, printed with the peak memory of its process tree."""
    seconds, peak = run_measured(label, command, env)
    print(f"{label:<13} {seconds:7.1f} s   peak memory {peak / 1024**3:5.2f} GB (all its processes)", flush=True)
    return seconds


def _train_tiny_model(bids: Path, work: Path) -> Path:
    from bids_app.training.dataset import TrainingCase
    from bids_app.training.train import train

    reference = bids / "derivatives" / "reference"
    cases = [TrainingCase(s, bids / s / "anat" / f"{s}_T1w.nii.gz", reference / s / "anat" / f"{s}_desc-aseg_dseg.nii.gz")
             for s in ("sub-01", "sub-02")]
    print("training a tiny nnU-Net on sub-01 and sub-02 (a few minutes) ...", flush=True)
    return train(cases, work, (10, 49, 11, 50, 12, 51, 17, 53, 4, 43))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="nnU-Net model folder (default: train a tiny one)")
    parser.add_argument("--subject", default="02", help="sample subject to time")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for every contender")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bids = make_sample_dataset(tmp / "bids")
        model = args.model or _train_tiny_model(bids, tmp / "train")
        t1w = bids / f"sub-{args.subject}" / "anat" / f"sub-{args.subject}_T1w.nii.gz"
        ras = tmp / "t1w_ras.nii.gz"
        conform(nb.load(t1w), "RAS").to_filename(ras)
        subseg = [sys.executable, "-m", "bids_app", str(bids), None, "participant", "--participant-label",
                  args.subject, "--nprocs", "1", "--omp-nthreads", str(args.threads)]

        bare = _timed_process("bare", [sys.executable, "-c", BARE_PREDICTOR, str(model), str(ras),
                                       str(tmp / "bare.nii.gz"), str(args.threads)])
        ours = _timed_process("subseg", [*subseg[:4], str(tmp / "out_nnunet"), *subseg[5:], "--model", str(model),
                                         "-w", str(tmp / "work_nnunet")])
        meshnet = _timed_process("meshnet", [*subseg[:4], str(tmp / "out_meshnet"), *subseg[5:],
                                             "-w", str(tmp / "work_mesh")])
        env = dict(os.environ, TEMPLATEFLOW_HOME=str(build_templateflow_home(tmp / "templateflow")))
        prepared = _timed_process("meshnet+prep", [*subseg[:4], str(tmp / "out_prep"), *subseg[5:], "-w",
                                                   str(tmp / "work_prep"), "--bias-correction", "--align-to",
                                                   NILEARN_TEMPLATE], env=env)
        print(f"subseg / bare nnUNetPredictor: {ours / bare:.2f}x (goal: under 1.5x)")
        print(f"N4 + template alignment, in the workflow: {prepared - meshnet:.1f} s (goal: under 60 s)")


if __name__ == "__main__":
    main()
