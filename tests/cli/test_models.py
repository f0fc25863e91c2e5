"""``subseg models``: list, import (checked), fetch (checked) into $SUBSEG_HOME."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines" / "synthseg"))
from synthseg_keras_reference import save_torch_in_published_layout  # noqa: E402

from bids_app.cli.models import main  # noqa: E402
from bids_app.engines.synthseg.labels import PARCELLATION_LABELS  # noqa: E402
from bids_app.engines.synthseg.network import SynthSegNetwork, UNet  # noqa: E402
from bids_app.engines.synthseg.qc import QCNetwork  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSEG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_list_shows_cache_and_missing_files(home, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert str(home / "models" / "synthseg") in out
    assert "synthseg_2.0.h5\tmissing\t53079152\tsha256:f190bfd742f450ef" in out
    assert "synthseg_1.0.h5\tmissing\t\tgit:a28f57090fab43709a9024fc747e5c3725326454" in out


def test_list_shows_the_built_in_meshnet_models(home, capsys):
    assert main(["list"]) == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in capsys.readouterr().out.splitlines()}
    assert rows["meshnet/model21_104class"][1:4] == [
        "built-in", "345488", "sha256:8a0aa1e2d94e5edc94c54aed900da978d2a1388bee4621cee05e473db64b84af"]
    assert rows["meshnet/mindgrab"][1] == "built-in"


def test_fetch_without_network_names_the_url_and_models_import(home, capsys):
    url = "https://subseg.invalid/synthseg_2.0.h5"
    assert main(["fetch", "synthseg", "--file", "synthseg_2.0.h5", "--url", url]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"could not download {url} (" in error and "run 'subseg models import synthseg_2.0.h5'" in error


def test_import_checks_the_file_loads(home, tmp_path, capsys):
    parc = tmp_path / "synthseg_parc_2.0.h5"
    save_torch_in_published_layout(UNet(3, len(PARCELLATION_LABELS), name="unet_parc").keras_layers(), parc)
    assert main(["import", str(parc)]) == 0
    assert (home / "models" / "synthseg" / "synthseg_parc_2.0.h5").read_bytes() == parc.read_bytes()
    capsys.readouterr()
    assert main(["list"]) == 0
    assert "synthseg_parc_2.0.h5\tpresent" in capsys.readouterr().out


def test_import_refuses_wrong_network(home, tmp_path, capsys):
    wrong = tmp_path / "synthseg_robust_2.0.h5"
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), wrong)
    assert main(["import", str(wrong)]) == 1
    assert "no layer unet2_likelihood: not a SynthSeg robust file" in capsys.readouterr().err
    assert not (home / "models" / "synthseg" / wrong.name).exists()


def test_import_checks_the_quality_control_file_loads(home, tmp_path, capsys):
    qc = tmp_path / "synthseg_qc_2.0.h5"
    save_torch_in_published_layout(QCNetwork().keras_layers(), qc)
    assert main(["import", str(qc)]) == 0
    assert (home / "models" / "synthseg" / qc.name).is_file()
    wrong = tmp_path / "other" / "synthseg_qc_2.0.h5"
    wrong.parent.mkdir()
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), wrong)
    assert main(["import", str(wrong), "--name", "synthseg_qc_2.0.h5"]) == 1
    assert "layer qc_conv_downarm_0_0 is missing" in capsys.readouterr().err


def test_import_refuses_file_that_is_not_the_published_one(home, tmp_path, capsys):
    other = tmp_path / "synthseg_2.0.h5"
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), other)
    assert main(["import", str(other)]) == 1
    assert "but the published synthseg_2.0.h5 has 53079152" in capsys.readouterr().err


def test_fetch_checks_checksum_and_leaves_nothing(home, tmp_path, capsys):
    mirror = tmp_path / "mirror.h5"
    mirror.write_bytes(b"not the weights")
    assert main(["fetch", "synthseg", "--file", "synthseg_2.0.h5", "--url", mirror.as_uri()]) == 1
    assert "but the published synthseg_2.0.h5 has 53079152" in capsys.readouterr().err
    assert not any((home / "models" / "synthseg").glob("*"))


def test_fetch_checks_git_object_id_of_the_authors_file(home, tmp_path, capsys):
    mirror = tmp_path / "synthseg_1.0.h5"
    mirror.write_bytes(b"not the weights")
    assert main(["fetch", "synthseg", "--url", mirror.as_uri()]) == 1
    error = capsys.readouterr().err
    assert "git object id" in error and "differs from synthseg_1.0.h5 in the authors' repository" in error
    assert not any((home / "models" / "synthseg").glob("*"))


def test_fetch_without_direct_link_explains(home, capsys):
    assert main(["fetch", "synthseg", "--file", "synthseg_2.0.h5"]) == 1
    assert "subseg models import" in capsys.readouterr().err
