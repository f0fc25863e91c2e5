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


#: FreeSurfer labels of the tiny nnU-Net model: L/R thalamus, caudate, putamen, hippocampus, lateral ventricle.
TINY_NNUNET_LABELS = (10, 49, 11, 50, 12, 51, 17, 53, 4, 43)


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


def _tiny_nnunet_key(settings) -> str:
    """Hash of what decides the tiny model: the training code, the sample data (code, scans) and the settings."""
    import hashlib
    import json

    digest = hashlib.sha256()
    training = REPO / "bids_app" / "training"
    sources = [training / f"{module}.py" for module in ("dataset", "environment", "planning", "trainer", "train")]
    sources += [REPO / "bids_app" / "utils" / "conform.py", REPO / "bids_app" / "utils" / "sample_data.py"]
    sources += sorted((REPO / "bids_app" / "data" / "sample").rglob("*.nii.gz"))
    for source in sources:
        digest.update(source.read_bytes())
    digest.update(json.dumps([settings.as_dict(), TINY_NNUNET_LABELS], sort_keys=True).encode())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_nnunet_model(request, sample_bids, tmp_path_factory) -> Path:
    """A real nnU-Net model (10 labels, 500 iterations) trained on sub-01 and sub-02 of ``sample_bids``.

    Cached in pytest's cache under a hash of the training code and settings, so reruns skip the training
    (several minutes on 2 shared cores). Holds only what inference needs: dataset.json, plans.json and
    fold_all/checkpoint_final.pth.
    """
    import shutil

    from bids_app.training.dataset import TrainingCase
    from bids_app.training.train import FOLD, TrainingSettings, train

    settings = TrainingSettings()
    cache = getattr(request.config, "cache", None)
    name = f"subseg-tiny-nnunet-{_tiny_nnunet_key(settings)}"
    folder = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    model = folder / "model"
    if (model / f"fold_{FOLD}" / "checkpoint_final.pth").is_file():
        return model
    reference = sample_bids / "derivatives" / "reference"
    cases = [
        TrainingCase(subject, sample_bids / subject / "anat" / f"{subject}_T1w.nii.gz",
                     reference / subject / "anat" / f"{subject}_desc-aseg_dseg.nii.gz")
        for subject in ("sub-01", "sub-02")
    ]
    trained = train(cases, tmp_path_factory.mktemp("tiny_nnunet_work"), TINY_NNUNET_LABELS, settings, nthreads=1)
    staging = folder / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / f"fold_{FOLD}").mkdir(parents=True)
    for relative in ("dataset.json", "plans.json", f"fold_{FOLD}/checkpoint_final.pth"):
        shutil.copyfile(trained / relative, staging / relative)
    staging.rename(model)
    return model


@pytest.fixture(scope="session")
def tiny_nnunet_labels() -> tuple[int, ...]:
    """FreeSurfer numbers the ``tiny_nnunet_model`` was trained on."""
    return TINY_NNUNET_LABELS
