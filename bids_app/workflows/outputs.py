"""Write one T1w's derivatives: label map, sidecar, volumes, brain mask, QC picture and report."""

from __future__ import annotations

from nipype.interfaces.utility import Function, IdentityInterface, Merge
from nipype.pipeline import engine as pe

from ..interfaces.bids import DerivativesDataSink
from ..interfaces.manifest import WriteManifest
from ..utils.manifest import KEYS as MANIFEST_KEYS


def init_ds_dseg_wf(*, output_dir: str, desc: str, metadata: dict, with_brain_mask: bool = False,
                    template: str | None = None, write_probseg: bool = False,
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
    template : str or None
        The template the T1w was aligned to: store the affine as ``from-T1w_to-<template>_mode-image_xfm``.
    write_probseg : bool
        Store posterior maps as ``label-<name>_desc-<desc>_probseg``.

    Inputs
    ------
    source_file, dseg, provenance, preprocessing, header, quality, volumes, figure, report, brain_mask, xfm, probseg,
    probseg_labels
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(
        fields=["source_file", "dseg", "provenance", "preprocessing", "header", "quality", "volumes", "figure", "report",
                "brain_mask", "xfm", "probseg", "probseg_labels"]), name="inputnode")

    def sink(node_name, suffix, **inputs):
        # overwrite: a sink always stores again, so a derivative deleted since the last run comes back
        return pe.Node(DerivativesDataSink(base_directory=output_dir, suffix=suffix, **inputs), name=node_name,
                       run_without_submitting=True, overwrite=True)

    ds_dseg = sink("ds_dseg", "dseg", desc=desc, metadata=metadata)
    sidecar_fields = pe.Node(Function(function=_sidecar_fields, input_names=["preprocessing", "header", "quality"],
                                      output_names=["fields"]), name="sidecar_fields", run_without_submitting=True)
    ds_volumes = sink("ds_volumes", "volumes", desc=desc)
    ds_figure = sink("ds_figure", "dseg", desc=desc, datatype="figures")
    ds_report = sink("ds_report", "report", desc=desc, datatype="figures")
    workflow.connect([
        (inputnode, ds_dseg, [("source_file", "source_file"), ("dseg", "in_file"),
                              (("provenance", _as_list), "metadata_files")]),
        (inputnode, sidecar_fields, [("preprocessing", "preprocessing"), ("header", "header"),
                                     ("quality", "quality")]),
        (sidecar_fields, ds_dseg, [("fields", "extra_metadata")]),
        (inputnode, ds_volumes, [("source_file", "source_file"), ("volumes", "in_file")]),
        (inputnode, ds_figure, [("source_file", "source_file"), ("figure", "in_file")]),
        (inputnode, ds_report, [("source_file", "source_file"), ("report", "in_file")]),
    ])
    stored = [(ds_dseg, "out_file"), (ds_dseg, "out_meta"), (ds_volumes, "out_file"), (ds_figure, "out_file"),
              (ds_report, "out_file")]
    if with_brain_mask:
        ds_mask = sink("ds_brain_mask", "mask", desc="brain",
                       metadata={"Type": "Brain", "Sources": metadata.get("Sources", [])})
        workflow.connect([(inputnode, ds_mask, [("source_file", "source_file"), ("brain_mask", "in_file")])])
        stored += [(ds_mask, "out_file"), (ds_mask, "out_meta")]
    if write_probseg:
        ds_probseg = pe.MapNode(DerivativesDataSink(base_directory=output_dir, suffix="probseg", desc=desc,
                                                    metadata={"Sources": metadata.get("Sources", [])}),
                                iterfield=["in_file", "label"], name="ds_probseg", run_without_submitting=True,
                                overwrite=True)
        workflow.connect([(inputnode, ds_probseg, [("source_file", "source_file"), ("probseg", "in_file"),
                                                   (("probseg_labels", _label_entities), "label")])])
        stored += [(ds_probseg, "out_file"), (ds_probseg, "out_meta")]
    if template:
        ds_xfm = sink("ds_xfm", "xfm", extra_entities={"from": "T1w", "to": template, "mode": "image"},
                      metadata={"Sources": metadata.get("Sources", []), "Software": "SimpleITK"})
        workflow.connect([(inputnode, ds_xfm, [("source_file", "source_file"), ("xfm", "in_file")])])
        stored += [(ds_xfm, "out_file"), (ds_xfm, "out_meta")]

    # Written last, after every output: what marks the T1w's outputs complete and up to date.
    gather = pe.Node(Merge(len(stored), ravel_inputs=True), name="gather_outputs", run_without_submitting=True)
    ds_manifest = pe.Node(WriteManifest(base_directory=output_dir, desc=desc,
                                        metadata={key: metadata.get(key) for key in MANIFEST_KEYS}),
                          name="ds_manifest", run_without_submitting=True, overwrite=True)
    workflow.connect([(node, gather, [(field, f"in{index}")]) for index, (node, field) in enumerate(stored, 1)])
    workflow.connect([
        (inputnode, ds_manifest, [("source_file", "source_file")]),
        (gather, ds_manifest, [("out", "in_files")]),
    ])
    return workflow


def _as_list(value):
    return [value]


def _label_entities(labels):
    """BIDS label entities (letters and digits only) from FreeSurfer numbers: 17 -> LeftHippocampus."""
    from bids_app.labels import LABELS

    return ["".join(ch for ch in LABELS[int(label)].name if ch.isalnum()) for label in labels]


def _sidecar_fields(preprocessing=None, header=None, quality=None):
    """Fields measured during the run that join the label map's sidecar last."""
    fields = {"Preprocessing": preprocessing} if preprocessing else {}
    fields.update(header or {})
    fields.update(quality or {})
    return fields
