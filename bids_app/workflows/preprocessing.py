"""From a raw T1w to the image an engine segments: validation, optional preprocessing steps, conforming."""

from __future__ import annotations

from nipype.interfaces.utility import Function, IdentityInterface
from nipype.pipeline import engine as pe

from ..interfaces.conform import Conform
from ..interfaces.masks import ApplyMask
from ..interfaces.validation import ValidateT1w
from .preproc_steps import init_preproc_steps_wf


def init_preproc_wf(*, orientation: str = "RAS", shape=None, zooms=None, bias_correction: bool = False,
                    template: str | None = None, brain_mask: str | None = None, omp_nthreads: int = 1,
                    name: str = "preproc_wf") -> pe.Workflow:
    """Check a T1w, run the preprocessing steps asked for (N4, affine to a template, template brain mask), conform it.

    .. workflow::

        from bids_app.workflows.preprocessing import init_preproc_wf
        wf = init_preproc_wf(orientation="LIA", shape=(256, 256, 256), zooms=(1.0, 1.0, 1.0),
                             bias_correction=True, template="MNI152NLin2009cAsym", brain_mask="template")

    Parameters
    ----------
    orientation : str
        Axis codes of the engine's grid.
    shape, zooms : tuple or None
        The engine's grid shape and voxel size; None keeps the T1w's (reorientation only).
    bias_correction : bool
        N4 before segmenting (``--bias-correction``).
    template : str or None
        Segment in this TemplateFlow template's space (``--align-to``).
    brain_mask : str or None
        ``"template"``: mask the aligned T1w with the template's brain mask (``--brain-mask template``).
    omp_nthreads : int
        Threads for N4 and registration.

    Inputs
    ------
    t1w
        The raw T1w.

    Outputs
    -------
    t1w_valid
        The T1w, checked (3D, finite, plausible voxel size, readable).
    t1w_conformed
        The image the engine segments (in template space when aligned).
    xfm
        The T1w-to-template affine (when aligned).
    brain_mask
        The template's brain mask on the T1w's grid (with ``brain_mask="template"``).
    provenance
        Preprocessing settings and measures, for the sidecar.
    header
        Sidecar fields saying what validation changed in the header's orientation ({} when nothing).
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w"]), name="inputnode")
    outputnode = pe.Node(IdentityInterface(
        fields=["t1w_valid", "t1w_conformed", "xfm", "brain_mask", "provenance", "header"]), name="outputnode")
    validate = pe.Node(ValidateT1w(), name="validate")
    conform = pe.Node(Conform(orientation=orientation, shape=shape, zooms=zooms), name="conform", mem_gb=2)
    workflow.connect([
        (inputnode, validate, [("t1w", "in_file")]),
        (validate, outputnode, [("out_file", "t1w_valid"), ("header", "header")]),
        (conform, outputnode, [("out_file", "t1w_conformed")]),
    ])
    if not (bias_correction or template):
        workflow.connect([
            (validate, conform, [("out_file", "in_file")]),
            (conform, outputnode, [("provenance", "provenance")]),
        ])
        return workflow

    preproc_steps_wf = init_preproc_steps_wf(bias_correction=bias_correction, template=template, brain_mask=brain_mask,
                                     omp_nthreads=omp_nthreads)
    provenance = pe.Node(Function(function=_merge, input_names=["first", "second"], output_names=["merged"]),
                         name="merge_provenance")
    workflow.connect([
        (validate, preproc_steps_wf, [("out_file", "inputnode.t1w")]),
        (preproc_steps_wf, outputnode, [("outputnode.xfm", "xfm"), ("outputnode.brain_mask", "brain_mask")]),
        (preproc_steps_wf, provenance, [("outputnode.provenance", "first")]),
        (conform, provenance, [("provenance", "second")]),
        (provenance, outputnode, [("merged", "provenance")]),
    ])
    if brain_mask == "template":
        skull_strip = pe.Node(ApplyMask(), name="apply_template_mask")
        workflow.connect([
            (preproc_steps_wf, skull_strip, [("outputnode.t1w", "in_file"), ("outputnode.template_mask", "mask")]),
            (skull_strip, conform, [("out_file", "in_file")]),
        ])
    else:
        workflow.connect([(preproc_steps_wf, conform, [("outputnode.t1w", "in_file")])])
    return workflow


def _merge(first, second):
    """One dict with the keys of both (``second`` wins)."""
    return {**first, **second}
