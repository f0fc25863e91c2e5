"""Build and run subseg's Docker image on this machine, with no image hub: helpers and fixtures.

A Docker daemon is used when one answers; otherwise (root, Debian's ``docker.io`` installed, see
``scripts/ci_docker.sh``) a private one is started with its data in a temporary folder and stopped, data
removed, at the end of the session. The base image comes from Debian packages (``debootstrap``); the CPU
torch wheel and the host's CA bundle go into the build the way the host's pip finds them. The daemon and both
images are made in a background thread from the end of collection, while the other tests run; the container
tests run last.

The fixtures live here, not in a conftest.py (a second conftest.py module clashes with ``--doctest-modules``
collecting ``tests/conftest.py``): test modules load this module as a plugin (``pytest_plugins``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines" / "synthseg"))
from synthseg_keras_reference import save_torch_in_published_layout  # noqa: E402

from bids_app.engines.synthseg.network import SynthSegNetwork  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGE = "subseg-test"
#: SynthSeg 2.0's network with random weights in the published layout, imported at build time
#: (SYNTHSEG_WEIGHTS=context): the published files cannot be downloaded here.
TEST_WEIGHTS = "synthseg_random_2.0.h5"
#: The user the container runs as when the tests run as root: no passwd entry, like ``singularity run``.
OTHER_UID = "1234:1234"


def project_metadata() -> dict:
    """``[project]`` of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def run(command, *, env=None, timeout=None, check=True, log=None) -> subprocess.CompletedProcess:
    """Run a command; on failure, fail the test with its output's tail."""
    result = subprocess.run([str(part) for part in command], env=env, timeout=timeout, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if log is not None:
        Path(log).write_text(result.stdout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command[:4]))} ... exited {result.returncode}:\n{result.stdout[-6000:]}",
                    pytrace=False)
    return result


# --- where the host's pip finds its certificates and the CPU torch wheel -------------------------------------

def _pip_config() -> dict[str, str]:
    """``pip config list`` as {key without section: value} (environment and files alike)."""
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                                timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    config = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        config.setdefault(key.rsplit(".", 1)[-1], value.strip().strip("'\""))
    return config


def host_ca_bundle() -> Path | None:
    """The CA bundle the host's pip trusts (PIP_CERT or pip's ``cert``), else OpenSSL's default."""
    import ssl

    candidates = [os.environ.get("PIP_CERT"), _pip_config().get("cert"), os.environ.get("SSL_CERT_FILE"),
                  ssl.get_default_verify_paths().cafile]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def local_torch_wheel() -> Path | None:
    """The wheel of the torch installed here, from the host's find-links folders (PIP_FIND_LINKS, pip config)."""
    from importlib.metadata import version

    installed = version("torch")
    folders = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), _pip_config().get("find-links")]))
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in folders.split():
        folder = Path(folder.removeprefix("file://"))
        if folder.is_dir():
            for wheel in sorted(folder.glob(f"torch-{installed}-{tag}-*.whl")):
                return wheel
    return None


# --- the Docker daemon ---------------------------------------------------------------------------------------

def _docker_answers(env) -> bool:
    try:
        return subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _client_version(client: str) -> int:
    """Major version of a docker client (0 when unknown)."""
    try:
        shown = subprocess.run([client, "version", "--format", "{{.Client.Version}}"], capture_output=True,
                               text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.match(r"(\d+)\.", shown.strip())
    return int(match.group(1)) if match else 0


def _choose_client() -> tuple[str, bool]:
    """A docker client and whether it can build with BuildKit (no layer commits in the build stage: about
    twice as fast here). Clients before 23 have BuildKit built in; later ones need the buildx plugin. The
    client packaged with dockerd comes first, then each one on PATH: the first that has BuildKit is taken."""
    candidates = []
    if shutil.which("dockerd"):
        candidates.append(str(Path(shutil.which("dockerd")).parent / "docker"))
    for folder in os.environ.get("PATH", "").split(os.pathsep):  # every docker on PATH, not only the first
        if folder and (Path(folder) / "docker").is_file():
            candidates.append(str(Path(folder) / "docker"))
    candidates = [client for client in dict.fromkeys(candidates) if os.access(client, os.X_OK)]
    if not candidates:
        pytest.fail("no docker client: install Debian's docker.io (bash scripts/ci_docker.sh)", pytrace=False)
    for client in candidates:
        version = _client_version(client)
        if 0 < version < 23:
            return client, True
        if subprocess.run([client, "buildx", "version"], capture_output=True).returncode == 0:
            return client, True
    return candidates[0], False


def start_docker(cleanup: contextlib.ExitStack) -> dict[str, str]:
    """Environment for ``docker`` commands: a daemon that answers (started here, and stopped by ``cleanup``, if
    need be). ``docker`` then runs the client chosen by :func:`_choose_client` (its folder leads ``PATH``)."""
    client, buildkit = _choose_client()
    env = {**os.environ, "PATH": f"{Path(client).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DOCKER_BUILDKIT": os.environ.get("DOCKER_BUILDKIT", "1" if buildkit else "0")}
    if _docker_answers(env):
        return env
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.fail("no Docker daemon answers and none can be started here (needs root and dockerd: "
                    "bash scripts/ci_docker.sh)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="subseg-dockerd-"))
    socket = root / "docker.sock"
    env["DOCKER_HOST"] = f"unix://{socket}"
    log = open(root / "dockerd.log", "w")
    daemon = subprocess.Popen(
        ["dockerd", "--data-root", root / "data", "--exec-root", root / "exec", "--pidfile", root / "dockerd.pid",
         "--host", env["DOCKER_HOST"]],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )

    @cleanup.callback
    def stop():
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        subprocess.run(["umount", "-R", root / "exec"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    deadline = time.monotonic() + 60
    while not _docker_answers(env):
        if daemon.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dockerd did not start:\n{(root / 'dockerd.log').read_text()[-3000:]}", pytrace=False)
        time.sleep(1)
    return env


# --- the images ----------------------------------------------------------------------------------------------

def _debian_mirror() -> str:
    """The Debian mirror this host's apt uses (``SUBSEG_DEBIAN_MIRROR`` overrides), else deb.debian.org."""
    if os.environ.get("SUBSEG_DEBIAN_MIRROR"):
        return os.environ["SUBSEG_DEBIAN_MIRROR"]
    sources = list(Path("/etc/apt").glob("sources.list.d/*.sources")) + [Path("/etc/apt/sources.list")]
    for source in sources:
        if source.is_file():
            for line in source.read_text().splitlines():
                if not line.lstrip().startswith("#"):
                    for url in re.findall(r"(https?://\S+/debian)(?=\s|/?$)", line):
                        return url
    return "http://deb.debian.org/debian"


def build_base_image(docker_env: dict[str, str], logs: Path, cleanup: contextlib.ExitStack) -> str:
    """A Debian bookworm image with Python and venv, trusting the host's CA bundle (no image hub needed)."""
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        pytest.fail("the base image needs root and debootstrap (bash scripts/ci_docker.sh)", pytrace=False)
    bundle = host_ca_bundle()
    name = f"{TEST_IMAGE}-base:bookworm"
    rootfs = Path(tempfile.mkdtemp(prefix="subseg-rootfs-"))
    try:
        started = time.monotonic()
        run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm", rootfs,
             _debian_mirror()], timeout=900, log=logs / "debootstrap.log")
        changes = ["ENV LANG=C.UTF-8"]
        if bundle is not None:
            # Debian's ca-certificates rewrites the standard bundle: the host's goes in under its own name.
            shutil.copyfile(bundle, rootfs / "usr/local/share/host-ca-bundle.pem")
            changes.append("ENV PIP_CERT=/usr/local/share/host-ca-bundle.pem")
        for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / folder).glob("*"):
                if item.is_file():
                    item.unlink()
        tar = subprocess.Popen(["tar", "-C", rootfs, "--exclude=./proc/*", "--exclude=./sys/*",
                                "--exclude=./dev/*", "-c", "."], stdout=subprocess.PIPE)
        command = ["docker", "import"] + [f"--change={change}" for change in changes] + ["-", name]
        imported = subprocess.run(command, stdin=tar.stdout, env=docker_env, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0:
            pytest.fail(f"docker import failed: {imported.stderr}", pytrace=False)
        print(f"\nbase image {name}: {time.monotonic() - started:.0f} s")
    finally:
        subprocess.run(["umount", "-R", rootfs / "proc"], capture_output=True)
        shutil.rmtree(rootfs, ignore_errors=True)
    cleanup.callback(subprocess.run, ["docker", "rmi", "-f", name], env=docker_env, capture_output=True)
    return name


def _context_files() -> list[str]:
    """The repository's files as git sees them (tracked and untracked, ignored ones left out)."""
    try:
        listed = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True)
        return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "node_modules", "__pycache__", "work", ".pytest_cache"}
        return [str(path.relative_to(REPO)) for path in REPO.rglob("*")
                if path.is_file() and not skip & set(path.relative_to(REPO).parts)]


def build_subseg_image(docker_env: dict[str, str], base_image: str, logs: Path,
                       cleanup: contextlib.ExitStack) -> str:
    """subseg's image, built from the repository's Dockerfile on ``base_image`` with the CPU torch wheel."""
    wheel = local_torch_wheel()
    if wheel is None:
        pytest.fail("no local wheel of the installed torch in PIP_FIND_LINKS / pip's find-links: the image "
                    "build needs it (a torch from PyPI would be a multi-GB CUDA build)", pytrace=False)
    version = project_metadata()["version"]
    tag = f"{TEST_IMAGE}:{version}"
    context = logs / "docker_context"
    for name in _context_files():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, context / name)
    (context / "wheels").mkdir(exist_ok=True)
    shutil.copy2(wheel, context / "wheels" / wheel.name)
    (context / "weights").mkdir(exist_ok=True)
    save_torch_in_published_layout(SynthSegNetwork("2.0").segmentation_layers(), context / "weights" / TEST_WEIGHTS)
    torch_version = wheel.name.split("-")[1]
    revision = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    started = time.monotonic()
    run(["docker", "build", "--tag", tag,
         "--build-arg", f"BASE_IMAGE={base_image}",
         "--build-arg", f"TORCH_SPEC=torch=={torch_version}",
         "--build-arg", "SYNTHSEG_WEIGHTS=context",
         "--build-arg", "TEMPLATEFLOW_TEMPLATES=",
         "--build-arg", f"VERSION={version}",
         "--build-arg", f"IMAGE_NAME={TEST_IMAGE}",
         "--build-arg", f"VCS_REF={revision}",
         "--build-arg", f"BUILD_DATE={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
         context], env=docker_env, timeout=1800, log=logs / "docker-build.log")
    print(f"\nimage {tag}: built in {time.monotonic() - started:.0f} s")
    shutil.rmtree(context, ignore_errors=True)
    # The stack undoes these last first: the image, then the dangling layers, then the build cache.
    for command in (["builder", "prune", "-af"], ["image", "prune", "-f"], ["rmi", "-f", tag]):
        cleanup.callback(subprocess.run, ["docker", *command], env=docker_env, capture_output=True)
    return tag


# --- built in the background while the other tests run -------------------------------------------------------

class ImageBuild:
    """The daemon, the base image and subseg's image, made one after the other in a background thread while
    other tests run (the build keeps about half of 2 cores busy); :meth:`close` removes them at the end, and the
    build logs unless the build failed."""

    def __init__(self):
        self.logs = Path(tempfile.mkdtemp(prefix="subseg-image-build-"))
        self.cleanup = contextlib.ExitStack()
        self.env: dict[str, str] = {}
        self.tag = ""
        self.error = ""
        self._thread = threading.Thread(target=self._build, name="subseg-image-build", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            self.env = start_docker(self.cleanup)
            self.tag = build_subseg_image(self.env, build_base_image(self.env, self.logs, self.cleanup),
                                          self.logs, self.cleanup)
        except pytest.fail.Exception as error:
            self.error = f"{error.msg}\n(build logs in {self.logs})"
        except Exception as error:  # reported by every test that needs the image
            self.error = f"the image build failed: {type(error).__name__}: {error} (build logs in {self.logs})"

    def wait(self) -> "ImageBuild":
        """The finished build; fails the calling test when it did not succeed."""
        self._thread.join()
        if self.error:
            pytest.fail(self.error, pytrace=False)
        return self

    def close(self) -> None:
        self._thread.join()
        self.cleanup.close()
        if not self.error:
            shutil.rmtree(self.logs, ignore_errors=True)


_BUILD: ImageBuild | None = None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The container tests go last, and their image is built meanwhile (after deselection: only when one of
    them runs)."""
    global _BUILD
    container = [item for item in items if item.get_closest_marker("container")]
    if not container or config.option.collectonly:
        return
    items[:] = [item for item in items if not item.get_closest_marker("container")] + container
    if _BUILD is None:
        _BUILD = ImageBuild()


def pytest_sessionfinish(session):
    if _BUILD is not None:
        _BUILD.close()


def _build() -> ImageBuild:
    """The background build, started by :func:`pytest_collection_modifyitems` for the container tests."""
    assert _BUILD is not None, "the image build starts once the container tests are collected"
    return _BUILD.wait()


@pytest.fixture(scope="session")
def docker_env() -> dict[str, str]:
    """Environment for ``docker`` commands, with a daemon that answers."""
    return _build().env


@pytest.fixture(scope="session")
def subseg_image() -> str:
    """The tag of subseg's image (built on a Debian base made with debootstrap)."""
    return _build().tag



@pytest.fixture(scope="session")
def inspect_image(docker_env):
    """``docker inspect`` of an image, as a dict."""
    def inspect(tag: str) -> dict:
        return json.loads(run(["docker", "inspect", tag], env=docker_env).stdout)[0]
    return inspect
