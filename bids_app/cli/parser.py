"""The BIDS-Apps command line: ``subseg bids_dir output_dir {participant,group,train} [options]``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .. import __version__
from ..engines import ENGINES
from ..training import TRAINER_NAMES
from ..training.planning import CONFIGURATION
from ..utils.resources import cpu_count, default_nprocs

PLUGINS = ("MultiProc", "Linear", "SLURM", "SLURMGraph")


def _existing_dir(parser, value: str) -> Path:
    path = Path(value).expanduser().absolute()
    if not path.is_dir():
        parser.error(f"{value}: no such folder")
    return path


def _label(value: str) -> str:
    """Accept ``01`` and ``sub-01`` (or ``ses-A`` and ``A``)."""
    for prefix in ("sub-", "ses-"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    if not value.isalnum():
        raise argparse.ArgumentTypeError(f"{value!r} is not a BIDS label (letters and digits only)")
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a fraction between 0 and 1")
    return number


def _plugin_args(value: str) -> dict:
    """A JSON object, inline or in a file."""
    text = Path(value).read_text() if os.path.isfile(value) else value
    try:
        args = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not a JSON object: {error}") from None
    if not isinstance(args, dict):
        raise argparse.ArgumentTypeError("must be a JSON object such as '{\"sbatch_args\": \"-p short\"}'")
    return args


def _run(value: str) -> str:
    if value != "first" and not value.isalnum():
        raise argparse.ArgumentTypeError(f"{value!r}: 'first' or a run label (letters and digits)")
    return value


def _desc(value: str) -> str:
    if not value.isalnum():
        raise argparse.ArgumentTypeError(f"{value!r}: a desc label takes letters and digits only")
    return value


class _HelpFormatter(argparse.HelpFormatter):
    """Name an option's default in ``--help`` unless its help text already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, {}) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


def _add_engine_options(group) -> None:
    """Every registered engine's options, in registry order; an option two engines share is added once."""
    added = {}
    for spec in ENGINES.values():
        for option in spec.cli:
            if option.dest in added:
                if added[option.dest] != option:
                    raise ValueError(f"engines {spec.name} and another declare --{option.dest} differently")
                continue
            added[option.dest] = option
            group.add_argument(*option.flags, dest=option.dest, **option.kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with option groups for each concern."""
    parser = argparse.ArgumentParser(
        prog="subseg",
        description="Segment subcortical structures in T1-weighted MRI (participant), measure how good the "
        "segmentations are (group), or train an nnU-Net model from labelled BIDS data (train).",
        epilog="Also: 'subseg models {list,fetch,import}' manages model weights; 'subseg sample OUT_DIR' writes "
        "a small real BIDS dataset with reference labels to try subseg on.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("bids_dir", help="the root folder of a BIDS dataset (sub-XXXXX folders at the top level)")
    parser.add_argument("output_dir", help="where the BIDS derivatives are written")
    parser.add_argument(
        "analysis_level", choices=("participant", "group", "train"),
        help="participant: segment each T1w; group: metrics and reports over all subjects; train: fit nnU-Net",
    )
    parser.add_argument("--version", action="version", version=f"subseg {__version__}")

    select = parser.add_argument_group("Selecting data")
    select.add_argument("--participant-label", "--participant_label", nargs="+", type=_label, metavar="LABEL",
                        help="subjects to process (with or without 'sub-'); default: all")
    select.add_argument("--session-label", nargs="+", type=_label, metavar="LABEL",
                        help="sessions to process (with or without 'ses-'); default: all")
    select.add_argument("--skip-bids-validation", action="store_true",
                        help="do not check that bids_dir is a valid BIDS dataset")

    seg = parser.add_argument_group("Segmentation (participant)")
    seg.add_argument("--engine", choices=sorted(ENGINES),
                     help="segmentation engine; default: nnunet when --model is given, else meshnet "
                     "(pretrained, ships with subseg, needs no download)")
    _add_engine_options(seg)
    seg.add_argument("--write-probseg", action="store_true",
                     help="also write posterior maps as _label-<name>_probseg.nii.gz (meshnet, synthseg, nnunet)")
    seg.add_argument("--desc", action="append", type=_desc, metavar="DESC",
                     help="participant: the desc label of this run's outputs (default: the engine's name); "
                     "group: the descs to evaluate, repeatable (default: every desc found)")

    preprocessing = parser.add_argument_group("Preprocessing (participant, train)")
    preprocessing.add_argument("--bias-correction", action="store_true",
                               help="correct intensity non-uniformity with N4 (SimpleITK) before segmenting")
    preprocessing.add_argument("--align-to", metavar="TEMPLATE",
                               help="align the T1w affinely to this TemplateFlow template (1 mm, e.g. "
                               "MNI152NLin2009cAsym) and segment there; labels come back on the T1w's grid. The "
                               "template must already be in $TEMPLATEFLOW_HOME: nothing is downloaded")
    preprocessing.add_argument("--brain-mask", choices=("template",),
                               help="template: mask the aligned T1w with the template's brain mask (needs --align-to)")

    group = parser.add_argument_group("Evaluation (group)")
    group.add_argument("--reference-dir", metavar="DIR",
                       help="BIDS derivatives folder of reference label maps (*_dseg.nii.gz, FreeSurfer numbers); "
                       "group: scored against; train: learned from (required)")
    group.add_argument("--reference-desc", type=_desc, metavar="DESC",
                       help="desc of the reference label maps; needed when the folder holds several")
    group.add_argument("--tolerance-mm", type=_positive_float, default=1.0,
                       help="tolerance of the normalized surface Dice, in mm")
    group.add_argument("--swap-threshold", type=_fraction, default=0.5,
                       help="a subject whose left/right swap fraction exceeds this is flagged as a hemisphere swap")

    train = parser.add_argument_group(
        "Training (train)", "Train nnU-Net v2 on --train-size subjects with reference label maps (--reference-dir); "
        "the model goes to output_dir/models/<name>/, ready for 'participant --model'. The preprocessing "
        "options above apply to the training images as they do at the participant level.")
    train.add_argument("--train-size", type=_positive_int, metavar="N",
                       help="number of training subjects (not images), drawn with --seed from the subjects that "
                       "have a reference label map; each brings one T1w per session that has a reference (see "
                       "--train-run); the other subjects are held out (listed in split.tsv)")
    train.add_argument("--train-run", type=_run, default="first", metavar="first|RUN",
                       help="which T1w of a subject/session to train on when several have a reference (a reference "
                       "without run- serves every run of its session): 'first' in BIDS name order, or a run label")
    train.add_argument("--seed", type=int, default=0, help="seed of the subject draw and of training")
    train.add_argument("--labels", nargs="+", metavar="LABEL",
                       help="FreeSurfer names or numbers. train: structures to learn (others become background; "
                       "default: the 16 left/right subcortical structures). group: structures to score (default: "
                       "those each desc's model knows, from desc-<desc>_dseg.tsv or dseg.tsv)")
    train.add_argument("--configuration", default=CONFIGURATION, metavar="NAME",
                       help="nnU-Net configuration to plan and train; only 3d_fullres (a 3D U-Net on images "
                       "resampled to the plan's spacing) is supported")
    train.add_argument("--plans", choices=("auto", "small-cpu", "nnunet"), default="auto",
                       help="small-cpu: a small 3D U-Net at 2 mm that learns on a CPU in minutes; nnunet: "
                       "nnU-Net's own plan (GPU-sized); auto: small-cpu on a CPU, nnunet on a GPU")
    train.add_argument("--trainer", choices=TRAINER_NAMES,
                       help="nnU-Net trainer; default: nnUNetTrainerSubsegCPU on a CPU (AdamW, no augmentation, "
                       "30 x 25 iterations), nnUNetTrainer (nnU-Net's default) on a GPU")
    train.add_argument("--epochs", type=_positive_int, help="epochs; default: the trainer's own")
    train.add_argument("--iterations-per-epoch", type=_positive_int, metavar="N",
                       help="training iterations per epoch; default: the trainer's own")
    train.add_argument("--hemisphere-aware", action="store_true",
                       help="mirror left-right in training and at test time, swapping Left and Right labels, so "
                       "mirrored heads keep correct hemispheres (MIC-DKFZ/nnUNet#869)")
    train.add_argument("--model-name", type=_desc, metavar="NAME",
                       help="folder name under output_dir/models/ (letters and digits; use it as --desc later); "
                       "default: nnunet<N>, plus 'hemi' with --hemisphere-aware")

    perf = parser.add_argument_group("Resources and execution")
    perf.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                      help="where networks run: auto takes a GPU when torch sees one")
    perf.add_argument("--nprocs", "--nthreads", type=_positive_int,
                      help="processes run at once (subjects in parallel); default: the CPUs this process may use, and "
                      "at the participant level no more than the available memory holds at the engine's memory "
                      "per image (4 GB for meshnet and nnunet, 8 GB for synthseg)")
    perf.add_argument("--omp-nthreads", type=_positive_int,
                      help="threads per process (torch, ITK); default: min(nprocs, 8)")
    perf.add_argument("-w", "--work-dir", metavar="DIR",
                      help="folder for intermediate results (reused on reruns; safe to delete afterwards); "
                      "default: ./work, in the folder subseg is started from")
    perf.add_argument("--nipype-plugin", choices=PLUGINS, default="MultiProc",
                      help="nipype execution plugin: MultiProc locally, SLURM/SLURMGraph on clusters")
    perf.add_argument("--nipype-plugin-args", type=_plugin_args, default={}, metavar="JSON",
                      help="plugin arguments as a JSON object or a file holding one, "
                      "e.g. '{\"sbatch_args\": \"-p short --mem 8G\"}'")
    perf.add_argument("--overwrite", action="store_true", help="redo outputs that already exist and are up to date")

    log = parser.add_argument_group("Logging")
    log.add_argument("-v", "--verbose", action="count", default=0, help="more messages (repeat for debug)")
    log.add_argument("-q", "--quiet", action="count", default=0,
                     help="fewer messages: warnings and errors only, no progress lines")
    return parser


def _check_train_args(parser, args) -> None:
    if args.configuration != CONFIGURATION:
        parser.error(f"--configuration {args.configuration}: only {CONFIGURATION} is supported "
                     "(2d, 3d_lowres and the cascade are not)")
    folds = args.folds or ["all"]
    if len(folds) > 1 or folds[0] not in ("0", "all"):
        parser.error(f"--folds {' '.join(folds)}: train takes one fold, 'all' or '0'")
    args.fold = folds[0]


def parse_args(argv=None) -> argparse.Namespace:
    """Parse and check the arguments; errors exit through ``parser.error`` with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.bids_dir = _existing_dir(parser, args.bids_dir)
    args.output_dir = Path(args.output_dir).expanduser().absolute()
    args.work_dir = Path(args.work_dir or "work").expanduser().absolute()
    if args.output_dir == args.bids_dir:
        parser.error("output_dir must differ from bids_dir (write derivatives elsewhere, e.g. bids_dir/derivatives/subseg)")
    if args.bids_dir in args.output_dir.parents and args.bids_dir / "derivatives" not in args.output_dir.parents:
        parser.error("output_dir is inside bids_dir: put derivatives under bids_dir/derivatives/ "
                     "(e.g. bids_dir/derivatives/subseg) or outside the dataset")
    if args.work_dir == args.bids_dir or args.bids_dir in args.work_dir.parents:
        parser.error("the work dir must not be inside bids_dir")
    if args.analysis_level == "participant":
        if args.engine is None:
            args.engine = "nnunet" if args.model else "meshnet"
        if args.engine == "nnunet" and not args.model:
            parser.error("--engine nnunet needs --model (a trained nnU-Net model folder)")
        if args.model and args.engine != "nnunet":
            parser.error(f"--model is an nnU-Net model folder; it does not apply to --engine {args.engine}")
        if args.tta is not None and args.engine != "meshnet":
            parser.error(f"--{'' if args.tta else 'no-'}tta is MeshNet's test-time flip; it does not apply to --engine "
                         f"{args.engine} (SynthSeg already averages a left-right flipped pass, except with --fast or "
                         "--robust)")
        if args.desc and len(args.desc) > 1:
            parser.error("participant takes one --desc")
        args.desc = args.desc[0] if args.desc else args.engine
        if args.model:
            args.model = _existing_dir(parser, args.model)
    if args.tta is None:  # MeshNet's default; no flip of ours for another engine or level
        args.tta = args.engine == "meshnet" and ENGINES["meshnet"].options.tta
    if args.analysis_level == "train":
        _check_train_args(parser, args)
    if args.brain_mask and not args.align_to:
        parser.error("--brain-mask template needs --align-to TEMPLATE")
    if args.reference_dir is not None:
        args.reference_dir = _existing_dir(parser, args.reference_dir)
    if args.nprocs is None:
        participant = args.analysis_level == "participant"
        args.nprocs = default_nprocs(ENGINES[args.engine].mem_gb) if participant else cpu_count()
    if args.omp_nthreads is None:
        args.omp_nthreads = min(args.nprocs, 8)
    return args
