"""Segmentation with the chosen engine, and its maps carried back onto the T1w's own grid."""

from __future__ import annotations

from dataclasses import asdict

from nipype.interfaces.utility import IdentityInterface
from nipype.pipeline import engine as pe

from ..engines import engine_spec
from ..interfaces.conform import ResampleToReference
from ..interfaces.segment import Segment
from ..interfaces.transforms import ApplyAffine


def init_segmentation_wf(*, engine: str, engine_options=None, device: str = "auto", omp_nthreads: int = 1,
                         aligned: bool = False, write_probseg: bool = False,
                         name: str = "segmentation_wf") -> pe.Workflow:
    """Run one engine on a conformed T1w and resample its maps onto the raw T1w's grid.

    When the T1w was aligned to a template, maps go back through the inverse affine in a single step from
    the engine's grid to the T1w's own grid (nearest neighbour for labels, linear for posteriors).

    .. workflow::

        from bids_app.engines.nnunet import NNUNetOptions
        from bids_app.workflows.segmentation import init_segmentation_wf
        wf = init_segmentation_wf(engine="nnunet", engine_options=NNUNetOptions(model="."), write_probseg=True)

    Parameters
    ----------
    engine : str
        A name in :data:`bids_app.engines.ENGINES`.
    engine_options
        The engine's options dataclass (default: its defaults).
    device : str
        auto, cpu or cuda.
    omp_nthreads : int
        torch threads.
    aligned : bool
        The conformed T1w lies in a template's space (``xfm`` input).
    write_probseg : bool
        Also bring back the engine's posterior maps.

    Inputs
    ------
    t1w_conformed
        The T1w on the engine's grid.
    t1w_valid
        The validated T1w on its own grid (the reference for the result).
    xfm
        T1w-to-template affine (when aligned).

    Outputs
    -------
    dseg
        Label map (FreeSurfer numbers) on the T1w's own grid.
    provenance
        JSON file with the engine's provenance.
    brain_mask
        Brain mask on the T1w's own grid (engines that make one).
    probseg, probseg_labels
        Posterior maps on the T1w's own grid and their FreeSurfer labels (with ``write_probseg``).
    """
    spec = engine_spec(engine)
    options = spec.options() if engine_options is None else engine_options
    if not isinstance(options, spec.options):
        raise TypeError(f"engine {engine} takes {spec.options.__name__}, not {type(options).__name__}")
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w_conformed", "t1w_valid", "xfm"]), name="inputnode")
    outputnode = pe.Node(IdentityInterface(fields=["dseg", "provenance", "brain_mask", "probseg", "probseg_labels"]),
                         name="outputnode")
    segment = pe.Node(Segment(engine=engine, options=asdict(options), device=device, omp_nthreads=omp_nthreads,
                              write_probseg=write_probseg), name=f"segment_{engine}", mem_gb=spec.mem_gb,
                      n_procs=omp_nthreads)
    workflow.connect([
        (inputnode, segment, [("t1w_conformed", "in_file")]),
        (segment, outputnode, [("out_provenance", "provenance")]),
    ])
    if spec.reference_grid and not aligned:  # e.g. labels from posteriors where the grids differ
        workflow.connect([(inputnode, segment, [("t1w_valid", "reference")])])

    def to_native(node_name, field, interpolation="nearest", iterfield=None):
        if aligned:
            interface_ = ApplyAffine(invert=True, interpolation=interpolation)
        else:
            interface_ = ResampleToReference(interpolation=interpolation)
        node = (pe.MapNode(interface_, iterfield=iterfield, name=node_name, mem_gb=2) if iterfield
                else pe.Node(interface_, name=node_name, mem_gb=2))
        workflow.connect([
            (inputnode, node, [("t1w_valid", "reference")] + ([("xfm", "xfm")] if aligned else [])),
            (segment, node, [(field, "in_file")]),
        ])
        return node

    workflow.connect([(to_native("labels_to_native", "out_dseg"), outputnode, [("out_file", "dseg")])])
    if spec.masks:
        workflow.connect([(to_native("mask_to_native", "out_brain_mask"), outputnode, [("out_file", "brain_mask")])])
    if write_probseg:
        probseg = to_native("probseg_to_native", "out_probseg", "linear", iterfield=["in_file"])
        workflow.connect([
            (probseg, outputnode, [("out_file", "probseg")]),
            (segment, outputnode, [("out_probseg_labels", "probseg_labels")]),
        ])
    return workflow
