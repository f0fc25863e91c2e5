"""Validation and conforming: from a raw T1w to the image an engine segments."""

from __future__ import annotations

from nipype.interfaces.utility import IdentityInterface
from nipype.pipeline import engine as pe

from ..interfaces.conform import Conform
from ..interfaces.validation import ValidateT1w


def init_preproc_wf(*, orientation: str = "RAS", shape=None, zooms=None, name: str = "preproc_wf") -> pe.Workflow:
    """Check a T1w and conform it for an engine.

    .. workflow::

        from bids_app.workflows.preprocessing import init_preproc_wf
        wf = init_preproc_wf(orientation="LIA", shape=(256, 256, 256), zooms=(1.0, 1.0, 1.0))

    Parameters
    ----------
    orientation : str
        Axis codes of the engine's grid.
    shape, zooms : tuple or None
        The engine's grid shape and voxel size; None keeps the T1w's (reorientation only).

    Inputs
    ------
    t1w
        The raw T1w.

    Outputs
    -------
    t1w_valid
        The T1w, checked (3D, finite, plausible voxel size, readable).
    t1w_conformed
        The T1w on the engine's grid.
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w"]), name="inputnode")
    outputnode = pe.Node(IdentityInterface(fields=["t1w_valid", "t1w_conformed"]), name="outputnode")
    validate = pe.Node(ValidateT1w(), name="validate")
    conform = pe.Node(Conform(orientation=orientation, shape=shape, zooms=zooms), name="conform", mem_gb=2)
    workflow.connect([
        (inputnode, validate, [("t1w", "in_file")]),
        (validate, conform, [("out_file", "in_file")]),
        (validate, outputnode, [("out_file", "t1w_valid")]),
        (conform, outputnode, [("out_file", "t1w_conformed")]),
    ])
    return workflow
