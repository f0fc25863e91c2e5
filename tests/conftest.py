"""Fixtures shared by all tests: the real data, sample BIDS datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import testdata

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    """The real test data listed in ``testdata.py``: from ``$SUBSEG_TEST_DATA``, else downloaded into a cache."""
    try:
        return testdata.data_folder(tmp_path_factory.mktemp("test_data"))
    except testdata.MissingData as error:
        message = str(error)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def niivue_meshnet(shared_data):
    """The niivue subject's norm.mgz and its segmentation by the default MeshNet engine, computed once."""
    import nibabel as nb

    from bids_app.engines.meshnet import MeshNetEngine

    image = nb.load(shared_data / "niivue" / "norm.mgz")
    return image, MeshNetEngine().predict(image)


@pytest.fixture(scope="session")
def quick_start(tmp_path_factory) -> Path:
    """The README's quick start as a user runs it: a bare clone in an empty folder, then every marked block in
    order (the lean install, ``subseg sample``, participant, group). Returns the clone."""
    import os
    import subprocess

    from readme_blocks import REPO, run_block, sample_blocks

    clone = tmp_path_factory.mktemp("quick_start") / "subseg"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "VIRTUAL_ENV") and not name.startswith("SUBSEG_")}
    for block in sample_blocks():
        run_block(block, clone, env=env)
    return clone


@pytest.fixture(scope="session")
def templateflow_home(tmp_path_factory):
    """A TemplateFlow home built offline from nilearn's packaged template, set as ``TEMPLATEFLOW_HOME``."""
    from bids_app.utils.templates import build_templateflow_home

    home = build_templateflow_home(tmp_path_factory.mktemp("templateflow"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEMPLATEFLOW_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def sample_bids(tmp_path_factory) -> Path:
    """The sample BIDS dataset (sub-01, sub-02 with references, sub-03 raw), built once per session."""
    from bids_app.utils.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path_factory.mktemp("sample_bids") / "bids")


def _readme_training_key(command: str) -> str:
    """Hash of what decides the README's trained model: the command, the options' defaults, the training code,
    the sample data and the versions of nnU-Net and torch."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(command.encode())
    digest.update(f"nnunetv2 {version('nnunetv2')} torch {version('torch')}".encode())
    package = REPO / "bids_app"
    sources = sorted((package / "training").glob("*.py")) + sorted((package / "cli").glob("*.py")) + [
        package / "config.py", package / "train.py", package / "workflows" / "train_preproc.py",
        package / "utils" / "conform.py", package / "utils" / "sample_data.py"]
    sources += sorted((package / "data" / "sample").rglob("*.nii.gz"))
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def readme_training(request, sample_bids, tmp_path_factory) -> tuple[Path, str]:
    """The README train recipe's ``subseg ... train`` (the CPU trainer's own schedule on sub-01 and sub-02, 16
    structures), run as written in a folder holding a copy of the sample dataset: that folder and the command's
    stderr. Cached in pytest's cache under a hash of the command, the training code and the sample data, so
    reruns skip the training (several minutes on 2 cores)."""
    import shutil

    from readme_blocks import run_command, train_commands

    command = train_commands()[0]
    cache = getattr(request.config, "cache", None)
    name = f"subseg-readme-training-{_readme_training_key(command)}"
    folder = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    recipe = folder / "recipe"
    if not (recipe / "train.stderr").is_file():
        staging = folder / "recipe.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        shutil.copytree(sample_bids, staging / "sample_bids")
        result = run_command(command, staging)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        shutil.rmtree(staging / "work", ignore_errors=True)
        (staging / "train.stderr").write_text(result.stderr)
        staging.rename(recipe)
    return recipe, (recipe / "train.stderr").read_text()


@pytest.fixture(scope="session")
def tiny_nnunet_model(readme_training) -> Path:
    """A real nnU-Net model folder, as ``subseg train`` writes it: the README recipe's (750 iterations)."""
    return readme_training[0] / "sample_bids" / "derivatives" / "subseg" / "models" / "nnunet2"


@pytest.fixture(scope="session")
def tiny_nnunet_labels() -> tuple[int, ...]:
    """FreeSurfer numbers the ``tiny_nnunet_model`` was trained on: the 16 subcortical structures."""
    from bids_app.labels import SUBCORTICAL

    return tuple(sorted(SUBCORTICAL))


@pytest.fixture(scope="session")
def tiny_nnunet_run(sample_bids, tiny_nnunet_model, tmp_path_factory):
    """``participant --model <tiny model> --desc tiny`` on sub-01 and sub-03 (both sessions), one thread per
    image: the finished process and its output folder. The CLI test checks it; the SLURM tests compare with it."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("tiny_nnunet_run")
    command = [sys.executable, "-m", "bids_app", str(sample_bids), str(root / "out"), "participant",
               "--participant-label", "01", "03", "--model", str(tiny_nnunet_model), "--desc", "tiny",
               "-w", str(root / "work"), "--omp-nthreads", "1", "--nprocs", "2"]
    return subprocess.run(command, capture_output=True, text=True, timeout=3600), root / "out"
