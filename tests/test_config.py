"""One configuration shape: every option lands in a setting, every setting comes from an option, and a
setting with no value on the command line is an error, not a silent default."""

from __future__ import annotations

import argparse
import inspect
import typing
from dataclasses import fields

import pytest

from bids_app.cli.parser import build_parser, parse_args
from bids_app.config import DERIVED, RENAMED, Config
from bids_app.group import run_group
from bids_app.participant import run_participant
from bids_app.train import run_train


def _option_destinations() -> set[str]:
    return {action.dest for action in build_parser()._actions
            if not isinstance(action, (argparse._HelpAction, argparse._VersionAction))}


def _settings() -> set[str]:
    sections = typing.get_type_hints(Config)
    return {item.name for section in sections.values() for item in fields(section)}


def test_every_option_has_a_setting_and_every_setting_an_option():
    options, settings = _option_destinations(), _settings()
    derived_from = {source for sources in DERIVED.values() for source in sources}
    assert derived_from <= options, f"DERIVED names options the parser lacks: {sorted(derived_from - options)}"
    copied = {RENAMED.get(dest, dest) for dest in options - derived_from}
    assert not copied - settings, f"options with no setting in Config: {sorted(copied - settings)}"
    without_option = settings - {RENAMED.get(dest, dest) for dest in options} - set(DERIVED)
    assert not without_option, f"settings no option fills: {sorted(without_option)}"


@pytest.mark.parametrize("level, dropped, section", [("participant", "write_probseg", "Segmentation"),
                                                     ("group", "tolerance_mm", "Evaluation"),
                                                     ("train", "seed", "Training"),
                                                     ("group", "align_to", "Preprocessing")])
def test_a_setting_without_its_option_fails(tmp_path, level, dropped, section):
    args = parse_args([str(tmp_path), str(tmp_path / "derivatives" / "subseg"), level])
    delattr(args, dropped)  # as when a flag is renamed and the setting keeps the old name
    with pytest.raises(KeyError, match=f"{section} settings with no command-line value: {dropped}"):
        Config.from_args(args)


def test_levels_share_one_configuration_shape(tmp_path):
    for level in (run_participant, run_group, run_train):
        assert list(inspect.signature(level).parameters) == ["config"], level.__name__
    (tmp_path / "bids").mkdir()
    argv = [str(tmp_path / "bids"), str(tmp_path / "out"), "participant", "--bias-correction", "--reference-dir",
            str(tmp_path)]
    config = Config.from_args(parse_args(argv))
    assert config.preprocessing.bias_correction is True and config.references.reference_dir == tmp_path
    assert list(config.participant_settings()) == [  # the dseg sidecar's SubsegSettings, in this order
        "engine", "model", "folds", "checkpoint", "parc", "synthseg_model", "robust", "fast", "qc", "tta",
        "write_probseg", "bias_correction", "align_to", "brain_mask"]
    assert "[preprocessing]\nbias_correction = true" in config.to_toml()
