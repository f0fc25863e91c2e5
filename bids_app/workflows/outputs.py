"""Write one T1w's derivatives: label map, sidecar, volumes, brain mask, QC picture and report."""

from __future__ import annotations

from nipype.interfaces.utility import IdentityInterface
from nipype.pipeline import engine as pe

from ..interfaces.bids import DerivativesDataSink


def init_ds_dseg_wf(*, output_dir: str, desc: str, metadata: dict, with_brain_mask: bool = False,
                    name: str = "ds_dseg_wf") -> pe.Workflow:
    """Store the derivatives of one T1w under their BIDS names.

    .. workflow::

        from bids_app.workflows.outputs import init_ds_dseg_wf
        wf = init_ds_dseg_wf(output_dir="out", desc="meshnet", metadata={})

    Parameters
    ----------
    output_dir : str
        Root of the derivatives dataset.
    desc : str
        desc entity of the outputs.
    metadata : dict
        Sidecar fields of the label map (Sources, settings ...); the engine's provenance joins them.
    with_brain_mask : bool
        Also store a brain mask (``desc-brain_mask``).

    Inputs
    ------
    source_file, dseg, provenance, volumes, figure, report, brain_mask
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(
        fields=["source_file", "dseg", "provenance", "volumes", "figure", "report", "brain_mask"]), name="inputnode")

    def sink(node_name, suffix, **inputs):
        return pe.Node(DerivativesDataSink(base_directory=output_dir, suffix=suffix, **inputs), name=node_name,
                       run_without_submitting=True)

    ds_dseg = sink("ds_dseg", "dseg", desc=desc, metadata=metadata)
    ds_volumes = sink("ds_volumes", "volumes", desc=desc)
    ds_figure = sink("ds_figure", "dseg", desc=desc, datatype="figures")
    ds_report = sink("ds_report", "report", desc=desc, datatype="figures")
    workflow.connect([
        (inputnode, ds_dseg, [("source_file", "source_file"), ("dseg", "in_file"),
                              (("provenance", _as_list), "metadata_files")]),
        (inputnode, ds_volumes, [("source_file", "source_file"), ("volumes", "in_file")]),
        (inputnode, ds_figure, [("source_file", "source_file"), ("figure", "in_file")]),
        (inputnode, ds_report, [("source_file", "source_file"), ("report", "in_file")]),
    ])
    if with_brain_mask:
        ds_mask = sink("ds_brain_mask", "mask", desc="brain",
                       metadata={"Type": "Brain", "Sources": metadata.get("Sources", [])})
        workflow.connect([(inputnode, ds_mask, [("source_file", "source_file"), ("brain_mask", "in_file")])])
    return workflow


def _as_list(value):
    return [value]
