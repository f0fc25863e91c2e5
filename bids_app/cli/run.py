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
#: The signals that stop a run: Ctrl-C and a scheduler's stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The signal mask of the thread that is forking, while it forks.
_FORKING = threading.local()
_fork_hooks_registered = False


def _install_interrupt_handler() -> None:
    """Make SIGINT and SIGTERM end this run as Ctrl-C does, in this process only.

    A process forked from this one (a library's ``multiprocessing`` pool) gets the default action back, and no
    stop can arrive between the fork and that reset. Otherwise Python's handler would let such a worker drop a
    stop sent right after the fork, or raise KeyboardInterrupt inside a queue's lock; either leaves the pool
    that terminates it waiting forever.
    """
    global _fork_hooks_registered
    for stop in STOP_SIGNALS:
        signal.signal(stop, _interrupt)
    if not _fork_hooks_registered:
        os.register_at_fork(before=_hold_stops, after_in_parent=_release_stops, after_in_child=_default_stops)
        _fork_hooks_registered = True


def _hold_stops() -> None:
    _FORKING.mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def _release_stops() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, _FORKING.mask)


def _default_stops() -> None:
    for stop in STOP_SIGNALS:
        if signal.getsignal(stop) is _interrupt:
            signal.signal(stop, signal.SIG_DFL)
    _release_stops()


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
    _install_interrupt_handler()
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
