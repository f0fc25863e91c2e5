"""Fast checks of the image recipes (no Docker needed): versions agree with pyproject.toml, the runtime
stage is a non-root BIDS App entry point, the build context stays small."""

from __future__ import annotations

import re

from docker_helpers import REPO, project_metadata


def _arg_default(dockerfile: str, name: str) -> str:
    match = re.search(rf"^ARG {name}=\"?([^\"\n]*)\"?$", dockerfile, flags=re.MULTILINE)
    assert match, f"no ARG {name}=... in the Dockerfile"
    return match.group(1)


def test_dockerfile_defaults():
    dockerfile = (REPO / "Dockerfile").read_text()
    version = project_metadata()["version"]
    assert set(re.findall(r"^ARG VERSION=(\S+)$", dockerfile, flags=re.MULTILINE)) == {version}
    base = _arg_default(dockerfile, "BASE_IMAGE")
    assert base.startswith("nvidia/cuda:") and "-runtime-" in base
    assert _arg_default(dockerfile, "TORCH_SPEC").startswith("torch==")
    assert _arg_default(dockerfile, "SYNTHSEG_WEIGHTS") in ("fetch", "context", "skip")
    runtime = dockerfile[dockerfile.rindex("\nFROM "):]  # the last stage is what users run
    assert 'ENTRYPOINT ["subseg"]' in runtime
    assert re.search(r"^USER (?!root|0\b)\S+", runtime, flags=re.MULTILINE)
    assert "org.opencontainers.image.version=\"${VERSION}\"" in runtime
    for variable in ("SUBSEG_HOME", "TEMPLATEFLOW_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "NIPYPE_CONFIG_DIR",
                     "SUBSEG_CONTAINER_IMAGE", "SUBSEG_CONTAINER_TYPE"):
        assert re.search(rf"\b{variable}=", runtime), variable
    assert "pip install" not in runtime and "apt-get install" not in runtime.split("FROM", 1)[1]


def test_dockerfile_pins_are_exact():
    """The image installs a lock: every requirement written into it carries ==."""
    dockerfile = (REPO / "Dockerfile").read_text()
    block = dockerfile[dockerfile.index("printf '%s\\n'"):dockerfile.index("> /tmp/requirements.lock")]
    pins = [word for word in block.split() if re.match(r"^[A-Za-z0-9][\w.-]*==", word)]
    assert len(pins) > 50
    names = [pin.split("==")[0].lower() for pin in pins]
    assert len(names) == len(set(names)), "a package pinned twice"
    dependencies = [re.split(r"[<>=!~ \[]", requirement)[0].lower() for requirement in project_metadata()["dependencies"]]
    assert set(dependencies) - {"torch"} <= set(names), set(dependencies) - set(names)


def test_singularity_definition_matches():
    definition = (REPO / "Singularity.def").read_text()
    version = project_metadata()["version"]
    assert re.search(r"^Bootstrap: docker(-daemon)?$", definition, flags=re.MULTILINE)
    assert re.search(rf"^From: \S+:{re.escape(version)}$", definition, flags=re.MULTILINE)
    assert f"org.opencontainers.image.version {version}" in definition
    assert "SUBSEG_CONTAINER_TYPE=singularity" in definition
    runscript = definition.split("%runscript", 1)[1].split("%", 1)[0]
    assert 'exec subseg "$@"' in runscript


def test_dockerignore_is_an_allow_list():
    """Everything is left out of the build context unless named: no .venv, node_modules, work or data."""
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"pyproject.toml", "README.md", "bids_app"} <= allowed
    assert not allowed & {".venv", "tests", "work", ".git"}
