"""The optional preprocessing steps before segmenting: N4 bias correction and affine alignment to a TemplateFlow
template."""

from __future__ import annotations

from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from ..interfaces.bias import N4BiasCorrection
from ..interfaces.registration import TemplateRegistration
from ..interfaces.transforms import ApplyAffine
from ..utils.preprocessing_settings import preprocessing_settings


def init_preproc_steps_wf(*, bias_correction: bool = False, template: str | None = None,
                          brain_mask: str | None = None, template_resolution: int = 1, omp_nthreads: int = 1,
                          name: str = "preproc_steps_wf") -> pe.Workflow:
    """Make scans from different datasets look alike: N4, then an affine into template space.

    .. workflow::

        from bids_app.workflows.preproc_steps import init_preproc_steps_wf
        wf = init_preproc_steps_wf(bias_correction=True, template="MNI152NLin2009cAsym", brain_mask="template")

    Parameters
    ----------
    bias_correction : bool
        Run N4 (``--bias-correction``).
    template : str or None
        TemplateFlow template to align to (``--align-to``); None keeps the T1w's own grid.
    brain_mask : str or None
        ``"template"``: carry the template's brain mask back to the T1w (``--brain-mask template``).
    template_resolution : int
        TemplateFlow resolution index of the template (1 mm).
    omp_nthreads : int
        SimpleITK threads.

    Inputs
    ------
    t1w
        The validated T1w.

    Outputs
    -------
    t1w
        The image to segment: bias-corrected, on the template grid when aligned.
    xfm
        Affine (ITK text), ``from-T1w_to-<template>_mode-image``: invert it to bring template-space
        results onto the T1w grid (:class:`~bids_app.interfaces.transforms.ApplyAffine`).
    template_mask
        The template brain mask on the grid of ``t1w`` (with ``brain_mask="template"``).
    brain_mask
        The template brain mask on the original T1w grid (with ``brain_mask="template"``).
    provenance
        Dict for the sidecar: the settings and what each step measured.
    """
    if brain_mask not in (None, "template"):
        raise ValueError(f"brain_mask must be None or 'template', not {brain_mask!r}")
    if brain_mask == "template" and template is None:
        raise ValueError("--brain-mask template needs a template to carry the mask from: add --align-to TEMPLATE")
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(niu.IdentityInterface(fields=["t1w"]), name="inputnode")
    outputnode = pe.Node(
        niu.IdentityInterface(fields=["t1w", "xfm", "template_mask", "brain_mask", "provenance"]), name="outputnode"
    )
    provenance = pe.Node(
        niu.Function(function=_merge_provenance, input_names=["settings", "parts"], output_names=["provenance"]),
        name="provenance",
    )
    provenance.inputs.settings = preprocessing_settings(
        bias_correction=bias_correction, template=template, brain_mask=brain_mask,
        template_resolution=template_resolution,
    )
    steps = int(bias_correction) + int(template is not None)
    merge = pe.Node(niu.Merge(max(steps, 1)), name="merge_provenance")
    if steps == 0:
        merge.inputs.in1 = {}
    workflow.connect([(merge, provenance, [("out", "parts")]), (provenance, outputnode, [("provenance", "provenance")])])

    source = (inputnode, "t1w")
    if bias_correction:
        n4 = pe.Node(N4BiasCorrection(omp_nthreads=omp_nthreads), name="n4", n_procs=omp_nthreads)
        workflow.connect([(inputnode, n4, [("t1w", "in_file")]), (n4, merge, [("provenance", "in1")])])
        source = (n4, "out_file")
    if template is None:
        workflow.connect([(source[0], outputnode, [(source[1], "t1w")])])
        return workflow

    register = pe.Node(
        TemplateRegistration(template=template, template_resolution=template_resolution, omp_nthreads=omp_nthreads),
        name="register", n_procs=omp_nthreads,
    )
    to_template = pe.Node(ApplyAffine(interpolation="linear"), name="t1w_to_template")
    workflow.connect([
        (source[0], register, [(source[1], "in_file")]),
        (register, merge, [("provenance", f"in{steps}")]),
        (source[0], to_template, [(source[1], "in_file")]),
        (register, to_template, [("template_file", "reference"), ("xfm", "xfm")]),
        (to_template, outputnode, [("out_file", "t1w")]),
        (register, outputnode, [("xfm", "xfm")]),
    ])
    if brain_mask == "template":
        mask_to_native = pe.Node(ApplyAffine(invert=True, interpolation="nearest"), name="mask_to_native")
        workflow.connect([
            (inputnode, mask_to_native, [("t1w", "reference")]),
            (register, mask_to_native, [("template_mask", "in_file"), ("xfm", "xfm")]),
            (register, outputnode, [("template_mask", "template_mask")]),
            (mask_to_native, outputnode, [("out_file", "brain_mask")]),
        ])
    return workflow


def _merge_provenance(settings, parts):
    """The settings, updated with what each step recorded."""
    merged = dict(settings)
    for part in parts:
        merged.update(part)
    return merged
