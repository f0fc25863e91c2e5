"""A one-node SLURM cluster on localhost, in a temporary folder: munged, slurmctld and slurmd, started and stopped.

Debian's ``slurm-wlm`` and ``munge`` (``scripts/ci_slurm.sh``), run as root. Everything the daemons write
(state, spool, logs, pid files, the munge socket, the job completion log) lies in one folder; the clients
find the cluster through ``SLURM_CONF``, so a system-wide SLURM, if any, is left alone.

The ``slurm_cluster`` fixture lives here, not in a conftest.py (a second conftest.py module clashes with
``--doctest-modules`` collecting ``tests/conftest.py``): test modules load it as a plugin (``pytest_plugins``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")


def missing_tools() -> list[str]:
    """The daemons and clients that are not installed."""
    return [tool for tool in DAEMONS if shutil.which(tool) is None]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slurm_conf(root: Path, node: str, cpus: int, ports: tuple[int, int]) -> str:
    """A minimal slurm.conf: root daemons, munge on a private socket, no accounting, a job completion log."""
    return "\n".join([
        "ClusterName=subsegtest",
        f"SlurmctldHost={node}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={ports[0]}",
        f"SlurmdPort={ports[1]}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
        "MpiDefault=none",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/filetxt",
        f"JobCompLoc={root / 'jobcomp.log'}",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SchedulerType=sched/backfill",
        "ReturnToService=2",
        "MinJobAge=600",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'slurmd.log'}",
        f"NodeName={node} CPUs={cpus} State=UNKNOWN",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


@dataclass
class SlurmCluster:
    """A running one-node cluster; ``env`` is what clients (sbatch, squeue, nipype) need."""

    root: Path
    conf: Path
    node: str
    env: dict
    processes: list = field(default_factory=list)

    def jobcomp(self) -> list[dict]:
        """The job completion log: one ``{field: value}`` per finished job (JobId, JobName, JobState ...)."""
        log = self.root / "jobcomp.log"
        if not log.is_file():
            return []
        jobs = []
        for line in log.read_text().splitlines():
            pairs = (item.partition("=") for item in line.split())
            jobs.append({key: value for key, _, value in pairs if key})
        return jobs

    def squeue(self) -> str:
        return subprocess.run(["squeue", "--noheader", "--format=%i %j %T"], env=self.env, capture_output=True,
                              text=True).stdout

    def wait_idle(self, timeout: float = 1800) -> None:
        """Wait until no job is pending or running."""
        deadline = time.monotonic() + timeout
        while self.squeue().strip():
            if time.monotonic() > deadline:
                raise TimeoutError(f"SLURM jobs still queued after {timeout} s:\n{self.squeue()}")
            time.sleep(2)

    def stop(self) -> None:
        """Stop the daemons (slurmd, slurmctld, munged: the reverse of the start) by their pids."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


def start_cluster(cpus: int | None = None, timeout: float = 60) -> SlurmCluster:
    """Start munged, slurmctld and slurmd in a new temporary folder; wait until the node is idle."""
    if os.geteuid() != 0:
        raise PermissionError("starting SLURM's daemons needs root")
    munge = pwd.getpwnam("munge")
    root = Path(tempfile.mkdtemp(prefix="subseg-slurm-"))
    os.chmod(root, 0o755)  # munged runs as munge and checks that its socket folder is not world-writable
    for name in ("state", "spool"):
        (root / name).mkdir()
    munge_dir = root / "munge"
    munge_dir.mkdir()
    os.chmod(munge_dir, 0o755)  # munged wants its socket folder searchable by all, writable by itself only
    os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
    node = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, node, cpus or os.cpu_count() or 1, (_free_port(), _free_port())))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = SlurmCluster(root=root, conf=conf, node=node, env=env)
    logs = root / "daemons.log"

    def launch(command, **options):
        with open(logs, "a") as log:
            process = subprocess.Popen([str(part) for part in command], stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=env, **options)
        cluster.processes.append(process)
        return process

    try:
        # munged, as user munge, in the foreground (its pid is ours to stop), socket where slurm.conf says.
        launch(["munged", "--foreground", f"--socket={munge_dir / 'munge.socket'}",
                f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}",
                f"--seed-file={munge_dir / 'munged.seed'}"], user=munge.pw_uid, group=munge.pw_gid)
        _wait(lambda: (munge_dir / "munge.socket").exists(), 20, "munged did not start", root)
        launch(["slurmctld", "-D", "-f", conf])
        _wait(lambda: _ok(["scontrol", "ping"], env), timeout, "slurmctld did not answer", root)
        launch(["slurmd", "-D", "-f", conf])
        _wait(lambda: _node_state(env) in ("idle", "mixed", "allocated"), timeout, "the node is not idle", root)
    except BaseException:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def _ok(command, env) -> bool:
    try:
        return subprocess.run(command, env=env, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _node_state(env) -> str:
    result = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True)
    return result.stdout.strip().rstrip("*~#")


def _wait(condition, timeout: float, message: str, root: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {path.name}\n{path.read_text()[-2000:]}" for path in sorted(root.rglob("*.log")))
            raise RuntimeError(f"{message} within {timeout} s\n{logs}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def slurm_cluster():
    """munged + slurmctld + slurmd started in a temporary folder, stopped (by pid) and removed afterwards."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"SLURM test needs {', '.join(missing)}: bash scripts/ci_slurm.sh", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the SLURM test starts slurmctld, slurmd and munged: run it as root", pytrace=False)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
