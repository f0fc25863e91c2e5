"""boutiques.json describes the command line: it is valid Boutiques, it names every option of the argument
parser (and only those), and the command lines ``bosh exec simulate`` makes from it are accepted by
:func:`bids_app.cli.parser.parse_args`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import tomllib
from pathlib import Path

import pytest

from bids_app.cli.parser import build_parser, parse_args

boutiques = pytest.importorskip("boutiques", reason="the Boutiques tests need PyPI 'boutiques'")

REPO = Path(__file__).resolve().parents[2]
DESCRIPTOR = REPO / "boutiques.json"

#: Invocations that ``bosh exec simulate`` turns into command lines; together they give every input a value.
INVOCATIONS = [
    {"bids_dir": "bids", "output_dir": "out", "analysis_level": "participant",
     "participant_label": ["01", "sub-02"], "session_label": ["1"], "skip_bids_validation": True,
     "engine": "meshnet", "parc": True, "tta": True, "write_probseg": True, "desc": "meshnetparc",
     "bias_correction": True, "align_to": "MNI152NLin2009cAsym", "brain_mask": "template",
     "device": "cpu", "nprocs": 2, "omp_nthreads": 1, "work_dir": "work", "overwrite": True, "verbose": True},
    {"bids_dir": "bids", "output_dir": "out", "analysis_level": "participant", "engine": "nnunet",
     "model": "model", "folds": ["0", "1"], "checkpoint": "checkpoint_best.pth", "device": "cuda",
     "nipype_plugin": "SLURM", "nipype_plugin_args": json.dumps({"sbatch_args": "-p short --mem 8G"}),
     "quiet": True},
    {"bids_dir": "bids", "output_dir": "out", "analysis_level": "participant", "engine": "synthseg",
     "synthseg_model": "synthseg_robust_2.0.h5", "robust": True, "fast": True, "qc": True,
     "nipype_plugin": "SLURMGraph"},
    {"bids_dir": "bids", "output_dir": "out", "analysis_level": "group", "reference_dir": "reference",
     "reference_desc": "aseg", "desc": "nnunet", "tolerance_mm": 2.0, "swap_threshold": 0.25, "labels": ["17", "53"],
     "nipype_plugin": "Linear"},
    {"bids_dir": "bids", "output_dir": "out", "analysis_level": "train", "participant_label": ["01"],
     "reference_dir": "reference", "reference_desc": "aseg", "train_size": 1, "train_run": "2", "seed": 3,
     "labels": ["Left-Thalamus", "49"], "configuration": "3d_fullres", "plans": "small-cpu",
     "trainer": "nnUNetTrainerSubsegCPU", "epochs": 2, "iterations_per_epoch": 5, "hemisphere_aware": True,
     "model_name": "nnunet1hemi", "nprocs": 1, "nipype_plugin": "MultiProc",
     "nipype_plugin_args": json.dumps({"n_procs": 1})},
]
#: The folders the invocations name and :func:`parse_args` wants to exist.
FOLDERS = ("bids", "model", "reference")


def _descriptor() -> dict:
    return json.loads(DESCRIPTOR.read_text())


def _parser_options() -> list[argparse.Action]:
    """The parser's options, less --help and --version (they print and exit; nothing to describe)."""
    return [action for action in build_parser()._actions
            if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction))]


def _simulate(invocation: dict, folder: Path) -> list[str]:
    """``bosh exec simulate`` of one invocation: the arguments after the executable."""
    from boutiques.bosh import bosh

    path = folder / "invocation.json"
    path.write_text(json.dumps(invocation))
    output = bosh(["exec", "simulate", str(DESCRIPTOR), "-i", str(path)])
    words = shlex.split(output.shell_command)
    assert words[0] == "subseg"
    return words[1:]


@pytest.fixture
def bids_folders(tmp_path, monkeypatch):
    """Run in a temporary folder holding the folders the invocations name (relative paths)."""
    for name in FOLDERS:
        (tmp_path / name).mkdir()
    (tmp_path / "bids" / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.9.0"}')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_descriptor_is_valid_boutiques():
    from boutiques.bosh import bosh

    bosh(["validate", str(DESCRIPTOR)])  # raises DescriptorValidationError when invalid


def test_descriptor_version_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    descriptor = _descriptor()
    assert descriptor["tool-version"] == project["version"]
    assert descriptor["container-image"]["image"].endswith(f":{project['version']}")


def _snippet(action: argparse.Action) -> str:
    """A descriptor input for an option the descriptor lacks, to paste and finish by hand."""
    flag = next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    entry = {"id": action.dest, "name": action.dest.replace("_", " ").capitalize(),
             "type": "Flag" if action.nargs == 0 else "String", "value-key": f"[{action.dest.upper()}]",
             "command-line-flag": flag, "optional": True, "description": action.help}
    if action.choices:
        entry["value-choices"] = list(action.choices)
    if action.nargs == "+":
        entry["list"] = True
    return json.dumps(entry)


def test_every_option_is_described():
    """Each option of the parser has one of its spellings as a descriptor flag, and no flag is unknown."""
    inputs = _descriptor()["inputs"]
    flags = {item["command-line-flag"]: item for item in inputs if "command-line-flag" in item}
    options = _parser_options()
    missing = [action for action in options if not set(action.option_strings) & set(flags)]
    assert not missing, "options missing from boutiques.json (add them to 'inputs' and 'command-line'):\n" + \
        "\n".join(_snippet(action) for action in missing)
    known = {string for action in options for string in action.option_strings}
    assert not set(flags) - known, f"boutiques.json flags the parser does not know: {sorted(set(flags) - known)}"
    described = [next(f for f in action.option_strings if f in flags) for action in options]
    assert len(described) == len(set(described)), "two descriptor inputs for one option"


def test_descriptor_inputs_agree_with_the_parser():
    """Same destinations, positionals, choices, defaults, lists and flags-without-values."""
    descriptor = _descriptor()
    by_id = {item["id"]: item for item in descriptor["inputs"]}
    positionals = [action.dest for action in build_parser()._actions if not action.option_strings]
    command_line = descriptor["command-line"].split()
    assert command_line[0] == "subseg"
    assert command_line[1:1 + len(positionals)] == [by_id[dest]["value-key"] for dest in positionals]
    for item in descriptor["inputs"]:
        assert item["value-key"] in command_line, item["id"]
    for dest in positionals:
        assert by_id[dest]["optional"] is False
    for action in _parser_options():
        item = by_id.get(action.dest)
        assert item is not None, f"no descriptor input with id {action.dest!r}"
        assert item["optional"] is True
        assert (item["type"] == "Flag") == (action.nargs == 0), action.dest
        assert bool(item.get("list")) == (action.nargs in ("+", "*")), action.dest
        if action.choices:
            assert item["value-choices"] == list(action.choices), action.dest
        if "default-value" in item:
            assert item["default-value"] == action.default, action.dest


def test_invocations_cover_every_input():
    ids = {item["id"] for item in _descriptor()["inputs"]}
    used = {key for invocation in INVOCATIONS for key in invocation}
    assert ids <= used, f"no invocation in this test gives a value to {sorted(ids - used)}"


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=lambda inv: f"{inv['analysis_level']}-"
                         f"{inv.get('engine', inv.get('nipype_plugin', ''))}")
def test_simulated_command_lines_parse(invocation, bids_folders):
    """The command line Boutiques makes is accepted, and each input lands in its own setting."""
    argv = _simulate(invocation, bids_folders)
    args = parse_args(argv)
    assert args.bids_dir == bids_folders / "bids"
    assert args.analysis_level == invocation["analysis_level"]
    for key, value in invocation.items():
        got = getattr(args, key)
        if key in ("participant_label", "session_label"):
            assert got == [label.removeprefix("sub-").removeprefix("ses-") for label in value]
        elif key == "nipype_plugin_args":
            assert got == json.loads(value)
        elif key in ("bids_dir", "model", "reference_dir", "output_dir", "work_dir"):
            assert Path(got) == bids_folders / value
        elif key == "desc" and invocation["analysis_level"] == "participant":
            assert got == value
        elif key == "desc":
            assert got == [value]
        elif key in ("verbose", "quiet"):
            assert got == 1
        elif key == "tta":  # the descriptor's flag is --no-tta: MeshNet's flip is on unless it is given
            assert got is not value
        else:
            assert got == value, key


def test_random_simulations_parse(bids_folders):
    """Random required values plus the descriptor's defaults give command lines the parser accepts."""
    from boutiques.bosh import bosh

    for _ in range(5):
        output = bosh(["exec", "simulate", str(DESCRIPTOR)])
        argv = shlex.split(output.shell_command)[1:]
        (bids_folders / argv[0]).mkdir(exist_ok=True)
        (bids_folders / argv[0] / "dataset_description.json").write_text("{}")
        args = parse_args(argv)
        assert args.analysis_level in ("participant", "group", "train")


def test_descriptor_lists_every_registered_engine_and_its_options():
    """The registry is what the descriptor describes: its engines as --engine's choices, each engine's options
    in the segmentation group."""
    from bids_app.engines import ENGINES

    descriptor = _descriptor()
    by_id = {item["id"]: item for item in descriptor["inputs"]}
    assert by_id["engine"]["value-choices"] == sorted(ENGINES)
    segmentation = next(group for group in descriptor["groups"] if group["id"] == "segmentation")
    spellings = {action.dest: action.option_strings for action in _parser_options()}  # --tta also makes --no-tta
    for spec in ENGINES.values():
        for option in spec.cli:
            assert option.dest in segmentation["members"], f"{spec.name}: {option.dest} not in the segmentation group"
            assert set(option.flags) <= set(spellings[option.dest]), option.dest
            assert by_id[option.dest]["command-line-flag"] in spellings[option.dest], option.dest
