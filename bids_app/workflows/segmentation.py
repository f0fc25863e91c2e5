"""Segmentation with the chosen engine, and the label map carried back onto the T1w's own grid."""

from __future__ import annotations

from importlib import import_module

from nipype.interfaces.utility import IdentityInterface
from nipype.pipeline import engine as pe

from ..interfaces.conform import ResampleLabelsToReference

#: engine name -> (module with the engine and its CONFORM grid, module and class of its nipype interface, GB)
ENGINES = {
    "meshnet": ("bids_app.engines.meshnet", "bids_app.interfaces.meshnet", "MeshNetSegment", 4),
    "nnunet": ("bids_app.engines.nnunet", "bids_app.interfaces.nnunet", "NNUNetSegment", 4),
    "synthseg": ("bids_app.engines.synthseg", "bids_app.interfaces.synthseg", "SynthSegSegment", 8),
}


def engine_grid(engine: str) -> dict:
    """The grid an engine works on: ``orientation`` and optionally ``shape`` and ``zooms``."""
    return dict(import_module(ENGINES[engine][0]).CONFORM or {"orientation": "RAS"})


def init_segmentation_wf(*, engine: str, engine_options: dict, device: str = "auto", omp_nthreads: int = 1,
                         name: str = "segmentation_wf") -> pe.Workflow:
    """Run one engine on a conformed T1w and resample its labels onto the raw T1w's grid.

    .. workflow::

        from bids_app.workflows.segmentation import init_segmentation_wf
        wf = init_segmentation_wf(engine="nnunet", engine_options={"model_dir": "."})

    Parameters
    ----------
    engine : str
        meshnet, nnunet or synthseg.
    engine_options : dict
        Inputs of the engine's interface (model folder, folds, ...).
    device : str
        auto, cpu or cuda.
    omp_nthreads : int
        torch threads.

    Inputs
    ------
    t1w_conformed
        The T1w on the engine's grid.
    t1w_valid
        The validated T1w on its own grid (the reference for the result).

    Outputs
    -------
    dseg
        Label map (FreeSurfer numbers) on the T1w's own grid.
    provenance
        JSON file with the engine's provenance.
    brain_mask
        Brain mask on the T1w's own grid (engines that make one).
    """
    _, interface_module, interface_name, mem_gb = ENGINES[engine]
    interface = getattr(import_module(interface_module), interface_name)
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w_conformed", "t1w_valid"]), name="inputnode")
    outputnode = pe.Node(IdentityInterface(fields=["dseg", "provenance", "brain_mask"]), name="outputnode")
    segment = pe.Node(interface(device=device, omp_nthreads=omp_nthreads, **engine_options), name=f"segment_{engine}",
                      mem_gb=mem_gb, n_procs=omp_nthreads)
    to_native = pe.Node(ResampleLabelsToReference(), name="labels_to_native", mem_gb=2)
    workflow.connect([
        (inputnode, segment, [("t1w_conformed", "in_file")]),
        (inputnode, to_native, [("t1w_valid", "reference")]),
        (segment, to_native, [("out_dseg", "in_file")]),
        (to_native, outputnode, [("out_file", "dseg")]),
        (segment, outputnode, [("out_provenance", "provenance")]),
    ])
    if engine == "meshnet":
        mask_to_native = pe.Node(ResampleLabelsToReference(), name="mask_to_native", mem_gb=2)
        workflow.connect([
            (inputnode, mask_to_native, [("t1w_valid", "reference")]),
            (segment, mask_to_native, [("out_brain_mask", "in_file")]),
            (mask_to_native, outputnode, [("out_file", "brain_mask")]),
        ])
    return workflow
