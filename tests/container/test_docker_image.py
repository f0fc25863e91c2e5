"""Build subseg's Docker image here and run it as a BIDS App: offline, as another user, read-only root.

Slow (about 12 minutes on 2 cores: Debian base image, pip install, a MeshNet and a SynthSeg segmentation);
the image is built in the background while the other tests run, and these run last. CI runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import nibabel as nb
import numpy as np
import pytest

from docker_helpers import OTHER_UID, REPO, TEST_IMAGE, TEST_WEIGHTS, project_metadata, run

pytestmark = pytest.mark.container
#: The fixtures that build the image and run the daemon.
pytest_plugins = ["docker_helpers"]


def test_version_and_labels_match_pyproject(docker_env, subseg_image, inspect_image):
    project = project_metadata()
    shown = run(["docker", "run", "--rm", "--network", "none", subseg_image, "--version"], env=docker_env).stdout
    assert shown.strip().splitlines()[-1] == f"subseg {project['version']}"

    config = inspect_image(subseg_image)["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == project["version"]
    assert labels["org.opencontainers.image.source"] == project["urls"]["Source"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]["text"]
    assert config["Entrypoint"] == ["subseg"]
    assert config["User"] and config["User"] not in ("root", "0")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["SUBSEG_CONTAINER_TYPE"] == "docker"
    assert env["SUBSEG_CONTAINER_IMAGE"] == subseg_image
    for variable in ("SUBSEG_HOME", "TEMPLATEFLOW_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "NIPYPE_CONFIG_DIR"):
        assert env[variable].startswith(("/opt/", "/home/subseg")), variable


def test_image_has_no_build_tools(docker_env, subseg_image):
    """Multi-stage: no pip, no compiler, no apt lists in what users pull."""
    probe = ("import shutil, os, importlib.util as u; "
             "print([t for t in ('gcc', 'cc', 'make', 'pip', 'pip3') if shutil.which(t)], "
             "u.find_spec('pip') is not None, "
             "len(set(os.listdir('/var/lib/apt/lists')) - {'lock', 'partial', 'auxfiles'}) "
             "if os.path.isdir('/var/lib/apt/lists') else 0)")
    shown = run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "python", subseg_image, "-c", probe],
                env=docker_env).stdout.strip().splitlines()[-1]
    assert shown == "[] False 0"


def test_templateflow_offline_in_image(docker_env, subseg_image):
    """The TemplateFlow home baked into the image answers without network, as any user, read-only."""
    probe = ("from bids_app.utils.templates import get_template_file as g; "
             "print(g('MNI152NLin2009aSym', resolution=1, suffix='T1w', desc=None).stat().st_size > 0)")
    shown = run(["docker", "run", "--rm", "--network", "none", "--read-only", "--user", OTHER_UID,
                 "--entrypoint", "python", subseg_image, "-c", probe], env=docker_env).stdout
    assert shown.strip().splitlines()[-1] == "True"


def test_participant_in_container(docker_env, subseg_image, sample_bids, tmp_path):
    """``participant --participant-label 01`` with the default engine: outputs on the input grid, provenance."""
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o777)  # written by OTHER_UID, a user with no account on either side
    user = OTHER_UID if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    started = time.monotonic()
    # --read-only with a tmpfs /tmp: the image's own folders (and $HOME) are as unwritable as in a SIF file.
    result = run(["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp:exec",
                  "--user", user, "--volume", f"{sample_bids}:/data:ro", "--volume", f"{out}:/out",
                  subseg_image, "/data", "/out", "participant", "--participant-label", "01",
                  "--nprocs", "1", "--omp-nthreads", "2"], env=docker_env, timeout=1800)
    print(f"\nparticipant run in the container: {time.monotonic() - started:.0f} s")
    assert "Traceback" not in result.stdout, result.stdout[-4000:]

    t1w = nb.load(sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    dseg_file = out / "sub-01" / "anat" / "sub-01_desc-meshnet_dseg.nii.gz"
    assert dseg_file.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    dseg = nb.load(dseg_file)
    assert dseg.shape == t1w.shape[:3]
    assert np.allclose(dseg.affine, t1w.affine, atol=1e-4)
    labels = np.unique(np.asanyarray(dseg.dataobj))
    assert {10, 49, 11, 50, 12, 51, 17, 53} <= set(labels.tolist())  # thalamus, caudate, putamen, hippocampus

    sidecar = json.loads(dseg_file.with_name(dseg_file.name.replace(".nii.gz", ".json")).read_text())
    assert sidecar["Sources"] == ["bids:raw:sub-01/anat/sub-01_T1w.nii.gz"]
    assert sidecar["SpatialReference"] == "bids:raw:sub-01/anat/sub-01_T1w.nii.gz"
    assert sidecar["Manual"] is False

    description = json.loads((out / "dataset_description.json").read_text())
    generated = description["GeneratedBy"][0]
    assert generated["Version"] == project_metadata()["version"]
    assert generated["Container"] == {"Type": "docker", "Tag": subseg_image}
    assert subseg_image.startswith(f"{TEST_IMAGE}:")
    if os.geteuid() == 0:
        assert dseg_file.stat().st_uid == int(OTHER_UID.split(":")[0])
    shutil.rmtree(out, ignore_errors=True)


def _definition_section(name: str) -> str:
    """The body of one ``%section`` of Singularity.def."""
    definition = (REPO / "Singularity.def").read_text()
    return definition.split(f"\n%{name}\n", 1)[1].split("\n%", 1)[0]


def test_singularity_recipe_runs_synthseg_in_image(docker_env, subseg_image, sample_bids, tmp_path):
    """The image run as ``apptainer run --cleanenv`` of a SIF built from it by Singularity.def would run it.

    Apptainer is not packaged for this machine, so the recipe's ``%environment`` and ``%runscript`` are run
    in the image by ``sh``, as Apptainer sources them: root file system read-only, the caller's uid with no
    account, the caller's home bound read-only. The engine is SynthSeg, with the weights imported at build
    time (SYNTHSEG_WEIGHTS=context) and nothing downloaded.
    """
    out, home = tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    os.chmod(out, 0o777)
    user = OTHER_UID if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"
    script = f"{_definition_section('environment')}\n{_definition_section('runscript')}"
    result = run(["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp:exec",
                  "--user", user, "--volume", f"{home}:/home/caller:ro", "--env", "HOME=/home/caller",
                  "--volume", f"{sample_bids}:/data:ro", "--volume", f"{out}:/out",
                  "--entrypoint", "/bin/sh", subseg_image, "-c", script, "runscript",
                  "/data", "/out", "participant", "--participant-label", "01", "--engine", "synthseg",
                  "--synthseg-model", TEST_WEIGHTS, "--fast", "--nprocs", "1", "--omp-nthreads", "2"],
                 env=docker_env, timeout=1800, check=False)
    assert "Traceback" not in result.stdout, result.stdout[-4000:]

    dseg_file = out / "sub-01" / "anat" / "sub-01_desc-synthseg_dseg.nii.gz"
    assert dseg_file.is_file(), sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    t1w = nb.load(sample_bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    assert nb.load(dseg_file).shape == t1w.shape[:3]
    sidecar = json.loads(dseg_file.with_name(dseg_file.name.replace(".nii.gz", ".json")).read_text())
    assert sidecar["Model"] == TEST_WEIGHTS
    # The test weights are random: the plausibility checks flag their labels, the outputs are kept and the run
    # counts the image as failed (exit 1); anything else is a real failure.
    assert result.returncode == (1 if sidecar["QualityFlags"] else 0), result.stdout[-4000:]
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["GeneratedBy"][0]["Container"]["Type"] == "singularity"
    assert not any(home.iterdir()), "the run wrote into the caller's home"
