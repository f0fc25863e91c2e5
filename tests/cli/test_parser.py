"""The command line validates early and reads as the BIDS-Apps convention says."""

import pytest

from bids_app.cli.parser import build_parser, parse_args


@pytest.fixture
def bids_dir(tmp_path):
    folder = tmp_path / "bids"
    folder.mkdir()
    return folder


def test_participant_labels_accept_both_forms(bids_dir, tmp_path):
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--participant-label", "sub-01", "02",
                       "--session-label", "ses-A"])
    assert args.participant_label == ["01", "02"]
    assert args.session_label == ["A"]


def test_engine_defaults_to_meshnet_without_a_model(bids_dir, tmp_path):
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant"])
    assert (args.engine, args.desc) == ("meshnet", "meshnet")


def test_tta_is_on_by_default_for_meshnet_only(bids_dir, tmp_path, capsys):
    participant = [str(bids_dir), str(tmp_path / "out"), "participant"]
    assert parse_args(participant).tta is True
    assert parse_args(participant + ["--tta"]).tta is True
    assert parse_args(participant + ["--no-tta"]).tta is False
    assert parse_args(participant + ["--engine", "synthseg"]).tta is False  # SynthSeg flips by itself
    assert parse_args([str(bids_dir), str(tmp_path / "out"), "group"]).tta is False
    for flag in ("--tta", "--no-tta"):
        with pytest.raises(SystemExit) as error:
            parse_args(participant + ["--engine", "synthseg", flag])
        assert error.value.code == 2
        assert f"{flag} is MeshNet's test-time flip; it does not apply to --engine synthseg" in capsys.readouterr().err


def test_help_names_the_tta_switch_and_its_default():
    text = " ".join(build_parser().format_help().split())
    assert "--tta, --no-tta" in text and "(on by default, --no-tta: one pass" in text


def test_model_implies_nnunet_and_desc_follows(bids_dir, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--model", str(model)])
    assert (args.engine, args.desc, args.model) == ("nnunet", "nnunet", model)
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--model", str(model), "--desc", "nnunet5"])
    assert args.desc == "nnunet5"


@pytest.mark.parametrize("extra, message", [
    (["--engine", "nnunet"], "needs --model"),
    (["--participant-label", "01_x"], "not a BIDS label"),
    (["--nprocs", "0"], "not a positive integer"),
    (["--nipype-plugin-args", "[1, 2]"], "JSON object"),
    (["--nipype-plugin", "Condor"], "invalid choice"),
    (["--desc", "a", "--desc", "b"], "one --desc"),
    (["--device", "tpu"], "invalid choice"),
])
def test_bad_options_exit_with_usage_error(bids_dir, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        parse_args([str(bids_dir), str(tmp_path / "out"), "participant", *extra])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_output_dir_must_differ_from_bids_dir(bids_dir, capsys):
    with pytest.raises(SystemExit):
        parse_args([str(bids_dir), str(bids_dir), "participant"])
    assert "must differ" in capsys.readouterr().err


def test_work_dir_inside_bids_dir_is_refused(bids_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "-w", str(bids_dir / "work")])
    assert "work dir" in capsys.readouterr().err


def test_missing_bids_dir_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args([str(tmp_path / "nowhere"), str(tmp_path / "out"), "participant"])
    assert "no such folder" in capsys.readouterr().err


def test_plugin_args_from_json_text(bids_dir, tmp_path):
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--nipype-plugin", "SLURM",
                       "--nipype-plugin-args", '{"sbatch_args": "-p short"}'])
    assert args.nipype_plugin_args == {"sbatch_args": "-p short"}


def test_help_lists_option_groups():
    text = build_parser().format_help()
    for heading in ("Selecting data", "Segmentation (participant)", "Resources and execution", "Logging"):
        assert heading in text


def test_help_names_each_default_once():
    text = " ".join(build_parser().format_help().split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "default: all (default" not in text
    assert "default: ./work, in the folder subseg is started from" in text
    assert "--tolerance-mm TOLERANCE_MM tolerance of the normalized surface Dice, in mm (default: 1.0)" in text


def test_default_work_dir_is_work_in_the_current_folder(bids_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant"])
    assert args.work_dir == tmp_path / "work"


def test_default_nprocs_fits_cpus_and_memory(bids_dir, tmp_path, monkeypatch):
    from bids_app.utils import resources

    monkeypatch.setattr(resources, "cpu_count", lambda: 16)
    monkeypatch.setattr(resources, "available_memory_gb", lambda: 10.5)
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant"])
    assert args.nprocs == 2  # meshnet: 4 GB per image
    args = parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--engine", "synthseg"])
    assert args.nprocs == 1
    assert parse_args([str(bids_dir), str(tmp_path / "out"), "participant", "--nprocs", "3"]).nprocs == 3
