"""Entry point of the ``subseg`` command: parse, configure logging, hand over to a level."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

LOGGER = logging.getLogger("subseg")
INTERRUPTED = "interrupted; outputs already written are complete, rerun to finish the rest"


def _setup_logging(level: int) -> None:
    """subseg's own messages at ``level``; other libraries' only with ``-v``.

    nipype's own crash reports are silenced by default: subseg prints one line per failed image instead, and
    the crash files keep the tracebacks.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(message)s", datefmt="%H:%M:%S"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    LOGGER.propagate = False
    from nipype import config as nipype_config
    from nipype import logging as nipype_logging

    nipype_level = "INFO" if level <= logging.DEBUG else "CRITICAL"
    for name in ("workflow_level", "interface_level", "utils_level"):
        nipype_config.set("logging", name, nipype_level)
    nipype_logging.update_logging(nipype_config)


#: Seconds an interrupted run has to end by itself before it is ended regardless (:func:`_end_regardless`).
INTERRUPT_GRACE_SECONDS = 20.0
#: Set once the one-line "interrupted" message has been printed.
_INTERRUPT_REPORTED = threading.Event()


def _interrupt(signum, frame):
    """Ctrl-C or a scheduler's stop: raise KeyboardInterrupt, and make sure the run ends even if a library
    swallows it or the interpreter hangs on its way out."""
    threading.Thread(target=_end_regardless, name="subseg-interrupt", daemon=True).start()
    raise KeyboardInterrupt


def _end_regardless() -> None:
    """After the grace period, end the worker processes and exit with 130, as the interrupted run would."""
    time.sleep(INTERRUPT_GRACE_SECONDS)
    from ..utils.workers import end_workers

    end_workers()
    if not _INTERRUPT_REPORTED.is_set():
        print(f"subseg: error: {INTERRUPTED}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(130)


def _fail(message: str, status: int = 1):
    print(f"subseg: error: {message}", file=sys.stderr)
    sys.exit(status)


def main(argv=None) -> None:
    """Run ``subseg``; exit 0 on success, 2 for a command-line mistake, 1 with a one-line error otherwise."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["models"]:
        from .models import main as models_main

        sys.exit(models_main(argv[1:]))
    if argv[:1] == ["sample"]:
        from .sample import main as sample_main

        sys.exit(sample_main(argv[1:]))

    from ..config import Config
    from .parser import parse_args

    config = Config.from_args(parse_args(argv))
    for stop in (signal.SIGINT, signal.SIGTERM):  # a scheduler's stop ends the run as Ctrl-C does
        signal.signal(stop, _interrupt)
    _setup_logging(config.execution.log_level)
    from ..errors import SubsegError, UsageError
    from ..utils.lock import work_dir_lock

    try:
        level = config.execution.analysis_level
        if level == "participant":
            from ..participant import run_participant

            with work_dir_lock(config.execution.work_dir):
                failed = run_participant(config)
            if failed:
                _fail(f"{failed} image(s) could not be segmented or were flagged as implausible; see the "
                      f"messages above")
        elif level == "group":
            from ..group import run_group

            run_group(config)
        else:
            from ..train import run_train

            with work_dir_lock(config.execution.work_dir):
                run_train(config)
    except UsageError as error:
        _fail(str(error), status=2)
    except SubsegError as error:
        _fail(str(error))
    except MemoryError:
        _fail("out of memory: lower --nprocs or --omp-nthreads, or run on a machine with more memory")
    except KeyboardInterrupt:
        from ..utils.workers import end_workers

        end_workers()
        _INTERRUPT_REPORTED.set()
        _fail(INTERRUPTED, status=130)
