"""Peak memory: subseg's own, not that of the program that started it."""

from __future__ import annotations

import subprocess
import sys


def test_peak_memory_is_not_inherited_across_exec():
    """A parent that held 600 MiB and then exec'd subseg's Python: ``ru_maxrss`` keeps the 600 MiB, the
    reported peak must not."""
    report = ("import resource; from bids_app.utils.resources import peak_memory_mib; "
              "print(peak_memory_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    holder = (f"import os, sys, numpy; held = numpy.ones(600 * 2**20, numpy.uint8); "
              f"os.execv(sys.executable, [sys.executable, '-c', {report!r}])")
    peak, inherited = map(float, subprocess.run([sys.executable, "-c", holder], capture_output=True, text=True,
                                                check=True).stdout.split())
    assert inherited > 600  # what ru_maxrss alone would have reported
    assert 10 < peak < 300
