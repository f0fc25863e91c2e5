"""Progress lines and the live bar; a real nipype workflow reports each image through its status callback."""

from __future__ import annotations

import io
import logging

import pytest
from nipype.interfaces.utility import Function, IdentityInterface
from nipype.pipeline import engine as pe

from bids_app.utils.progress import Progress, WorkflowProgress

LOGGER = logging.getLogger("subseg")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def info_level():
    """The subseg logger at INFO, as without -q (propagating, for caplog)."""
    level, propagate = LOGGER.level, LOGGER.propagate
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = True
    yield
    LOGGER.setLevel(level)
    LOGGER.propagate = propagate


def test_plain_lines_give_n_of_n_elapsed_and_time_left(info_level, caplog):
    clock = Clock()
    progress = Progress(4, "images segmented", live=False, clock=clock)
    with caplog.at_level(logging.INFO, logger="subseg"):
        progress.start("sub-01_T1w.nii.gz")
        clock.now += 30
        progress.done("sub-01_T1w.nii.gz")
        progress.start("sub-02_T1w.nii.gz")
        clock.now += 90
        progress.done("sub-02_T1w.nii.gz", failed=True)
    assert caplog.messages == [
        "sub-01_T1w.nii.gz: started (1 of 4)",
        "sub-01_T1w.nii.gz: done in 30 s; 1/4 images segmented, 30 s elapsed, about 1 min 30 s left",
        "sub-02_T1w.nii.gz: started (2 of 4)",
        "sub-02_T1w.nii.gz: failed in 1 min 30 s; 2/4 images segmented, 2 min 00 s elapsed, about 2 min 00 s left",
    ]


def test_a_terminal_gets_a_live_bar_that_is_cleared_at_the_end(info_level):
    clock, stream = Clock(), io.StringIO()
    progress = Progress(2, "epochs", stream=stream, live=True, clock=clock)
    clock.now += 10
    progress.done("epoch 1/2", detail="train loss -0.1000, pseudo-Dice 0.500, 10.0 s")
    progress.step("epoch 2")
    progress.close()
    text = stream.getvalue()
    assert "epoch 1/2: train loss -0.1000, pseudo-Dice 0.500, 10.0 s; 1/2 epochs, 10 s elapsed, about 10 s left\n" \
        in text
    assert "\r\x1b[K[##########..........] 1/2 epochs, 10 s elapsed, about 10 s left | epoch 2" in text
    assert text.endswith("\r\x1b[K")


def test_quiet_silences_everything(caplog):
    level = LOGGER.level
    LOGGER.setLevel(logging.WARNING)  # -q
    try:
        stream = io.StringIO()
        progress = Progress(1, "label maps scored", stream=stream, live=True)
        with caplog.at_level(logging.WARNING, logger="subseg"):
            progress.start("a")
            progress.done("a")
            progress.close()
    finally:
        LOGGER.setLevel(level)
    assert stream.getvalue() == "" and not caplog.records


def _add(x):
    return x + 1


def _fail(x):
    raise ValueError(f"bad input {x}")


def _branch(name, second):
    """inputnode -> first -> then -> outputnode, as our image workflows are built (nipype drops the identities)."""
    branch = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["x"]), name="inputnode")
    inputnode.inputs.x = 1
    first = pe.Node(Function(input_names=["x"], output_names=["y"], function=_add), name="first")
    then = pe.Node(Function(input_names=["x"], output_names=["y"], function=second), name="then")
    outputnode = pe.Node(IdentityInterface(fields=["y"]), name="outputnode")
    branch.connect([(inputnode, first, [("x", "x")]), (first, then, [("y", "x")]), (then, outputnode, [("y", "y")])])
    return branch


@pytest.mark.parametrize("plugin", ["Linear", "MultiProc"])
def test_nipype_status_callback_reports_each_image_once(info_level, tmp_path, caplog, plugin):
    workflow = pe.Workflow(name="top", base_dir=str(tmp_path))
    workflow.config["execution"]["crashdump_dir"] = str(tmp_path)
    workflow.add_nodes([_branch("sub_01_wf", _add), _branch("sub_02_wf", _fail)])
    callback = WorkflowProgress(workflow, {"sub_01_wf": "sub-01_T1w.nii.gz", "sub_02_wf": "sub-02_T1w.nii.gz"})
    args = {"status_callback": callback} | ({"n_procs": 2} if plugin == "MultiProc" else {})
    with caplog.at_level(logging.INFO, logger="subseg"), pytest.raises(RuntimeError):
        workflow.run(plugin=plugin, plugin_args=args)
    callback.close()
    lines = [message for message in caplog.messages if message.startswith("sub-0")]
    assert sorted(line.split(";")[0].split(" in ")[0].split(" (")[0] for line in lines) == [
        "sub-01_T1w.nii.gz: done", "sub-01_T1w.nii.gz: started", "sub-02_T1w.nii.gz: failed",
        "sub-02_T1w.nii.gz: started"]
    assert "; 2/2 images segmented, " in lines[-1] and "left" not in lines[-1]
    assert sum("1/2 images segmented" in line for line in lines) == 1
