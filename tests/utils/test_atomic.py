"""A killed writer's temporary file goes away with the next write of its target; a live writer's stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bids_app.utils.atomic import atomic_write_text

WRITER = """
import sys, time
from bids_app.utils.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print(tmp, flush=True)
    time.sleep(600)
"""


def _start_writer(target):
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return process, process.stdout.readline().strip()


def test_killed_writers_temporary_is_removed_and_a_live_ones_kept(tmp_path):
    target = tmp_path / "sub-01_desc-meshnet_volumes.tsv"
    killed, killed_tmp = _start_writer(target)
    live, live_tmp = _start_writer(target)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert os.path.exists(killed_tmp) and os.path.exists(live_tmp)
        atomic_write_text(target, "structure\tlabel\n")
        assert target.read_text() == "structure\tlabel\n"
        assert not os.path.exists(killed_tmp)
        assert os.path.exists(live_tmp)
    finally:
        live.kill()
        live.wait()
