"""The participant level: one branch per T1w, from the raw image to its derivatives."""

from __future__ import annotations

import re
from pathlib import Path

from nipype.interfaces.utility import IdentityInterface
from nipype.pipeline import engine as pe

from ..interfaces.plausibility import CheckPlausibility, expected_structures
from ..interfaces.reports import SegmentationPlot, SubjectReport
from ..interfaces.volumes import StructureVolumes
from .outputs import init_ds_dseg_wf
from .preprocessing import init_preproc_wf
from ..engines import engine_spec
from .segmentation import init_segmentation_wf


def init_subseg_wf(*, t1w_files: list[Path], metadata: dict[Path, dict], output_dir: Path, work_dir: Path,
                   engine: str, engine_options=None, desc: str, device: str, omp_nthreads: int,
                   preprocessing: dict | None = None, write_probseg: bool = False, engine_labels=None,
                   name: str = "subseg_wf") -> pe.Workflow:
    """One :func:`init_single_t1w_wf` branch per T1w, independent of each other.

    .. workflow::

        from pathlib import Path
        from bids_app.engines.nnunet import NNUNetOptions
        from bids_app.workflows.base import init_subseg_wf
        t1w = Path("sub-01/anat/sub-01_T1w.nii.gz")
        wf = init_subseg_wf(t1w_files=[t1w], metadata={t1w: {}}, output_dir=Path("out"), work_dir=Path("work"),
                            engine="nnunet", engine_options=NNUNetOptions(model="."), desc="nnunet",
                            device="cpu", omp_nthreads=1)

    Parameters
    ----------
    t1w_files : list of Path
        Raw T1w images.
    metadata : dict
        Sidecar fields of each T1w's label map.
    output_dir, work_dir : Path
        Derivatives root and nipype's working folder.
    engine, engine_options, desc, device, omp_nthreads, preprocessing, write_probseg, engine_labels
        As for :func:`init_single_t1w_wf`.
    """
    workflow = pe.Workflow(name=name, base_dir=str(work_dir))
    for t1w in t1w_files:
        workflow.add_nodes([init_single_t1w_wf(
            t1w=t1w, metadata=metadata[t1w], output_dir=output_dir, engine=engine, engine_options=engine_options,
            desc=desc, device=device, omp_nthreads=omp_nthreads, preprocessing=preprocessing,
            write_probseg=write_probseg, engine_labels=engine_labels, name=branch_name(t1w),
        )])
    return workflow


def branch_name(t1w: Path) -> str:
    """A node-safe name from the file's entities: ``sub_01_ses_A_run_2_wf``."""
    stem = Path(t1w).name.split(".")[0].replace("_T1w", "")
    return re.sub(r"[^A-Za-z0-9]+", "_", stem) + "_wf"


def init_single_t1w_wf(*, t1w: Path, metadata: dict, output_dir: Path, engine: str, engine_options=None,
                       desc: str, device: str = "auto", omp_nthreads: int = 1, preprocessing: dict | None = None,
                       write_probseg: bool = False, engine_labels=None, name: str = "single_t1w_wf") -> pe.Workflow:
    """Validate, conform, segment, carry back, measure, picture and store one T1w.

    .. workflow::

        from pathlib import Path
        from bids_app.engines.nnunet import NNUNetOptions
        from bids_app.workflows.base import init_single_t1w_wf
        wf = init_single_t1w_wf(t1w=Path("sub-01_T1w.nii.gz"), metadata={}, output_dir=Path("out"),
                                engine="nnunet", engine_options=NNUNetOptions(model="."), desc="nnunet")

    Parameters
    ----------
    t1w : Path
        The raw T1w.
    metadata : dict
        Sidecar fields of its label map.
    output_dir : Path
        Derivatives root.
    engine : str
        A name in :data:`bids_app.engines.ENGINES`.
    engine_options
        The engine's options dataclass, checked (default: its defaults).
    desc : str
        desc entity of the outputs.
    device : str
        auto, cpu or cuda.
    omp_nthreads : int
        Threads for the engine.
    preprocessing : dict or None
        Preprocessing steps before segmenting: ``bias_correction`` (bool), ``template`` (TemplateFlow name or None),
        ``brain_mask`` (``"template"`` or None). The template's brain mask, when used, is the one stored as
        ``desc-brain_mask`` (in place of the engine's own).
    write_probseg : bool
        Also store the engine's posterior maps.
    engine_labels : list of int or None
        FreeSurfer labels the engine's model can output (None: every subcortical structure); the
        plausibility check expects the subcortical ones among them.
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w"]), name="inputnode")
    inputnode.inputs.t1w = str(t1w)
    preprocessing = dict(preprocessing or {})
    template = preprocessing.get("template")
    template_mask = preprocessing.get("brain_mask") == "template"
    spec = engine_spec(engine)
    preproc_wf = init_preproc_wf(**spec.grid, **preprocessing, omp_nthreads=omp_nthreads)
    segmentation_wf = init_segmentation_wf(engine=engine, engine_options=engine_options, device=device,
                                           omp_nthreads=omp_nthreads, aligned=template is not None,
                                           write_probseg=write_probseg)
    volumes = pe.Node(StructureVolumes(), name="volumes")
    plausibility = pe.Node(CheckPlausibility(expected_labels=expected_structures(engine_labels)),
                           name="plausibility")
    plot = pe.Node(SegmentationPlot(), name="plot_dseg", mem_gb=1)
    report = pe.Node(SubjectReport(desc=desc, source_file=str(t1w), metadata=metadata), name="report", mem_gb=1)
    outputs_wf = init_ds_dseg_wf(output_dir=str(output_dir), desc=desc, metadata=metadata,
                                 with_brain_mask=spec.masks or template_mask, template=template,
                                 write_probseg=write_probseg)
    workflow.connect([
        (inputnode, preproc_wf, [("t1w", "inputnode.t1w")]),
        (preproc_wf, segmentation_wf, [("outputnode.t1w_conformed", "inputnode.t1w_conformed"),
                                       ("outputnode.t1w_valid", "inputnode.t1w_valid"),
                                       ("outputnode.xfm", "inputnode.xfm")]),
        (preproc_wf, outputs_wf, [("outputnode.xfm", "inputnode.xfm"),
                                  ("outputnode.provenance", "inputnode.preprocessing"),
                                  ("outputnode.header", "inputnode.header")]),
        (segmentation_wf, volumes, [("outputnode.dseg", "in_file")]),
        (segmentation_wf, plausibility, [("outputnode.dseg", "in_file"), ("outputnode.provenance", "provenance")]),
        (plausibility, report, [("flags", "quality_flags")]),
        (plausibility, outputs_wf, [("fields", "inputnode.quality")]),
        (preproc_wf, plot, [("outputnode.t1w_valid", "t1w")]),
        (segmentation_wf, plot, [("outputnode.dseg", "dseg")]),
        (plot, report, [("out_file", "figure")]),
        (volumes, report, [("out_file", "volumes")]),
        (segmentation_wf, report, [("outputnode.provenance", "provenance"), ("outputnode.dseg", "dseg")]),
        (preproc_wf, report, [("outputnode.t1w_valid", "t1w"), ("outputnode.provenance", "preprocessing")]),
        (inputnode, outputs_wf, [("t1w", "inputnode.source_file")]),
        (segmentation_wf, outputs_wf, [("outputnode.dseg", "inputnode.dseg"),
                                       ("outputnode.provenance", "inputnode.provenance"),
                                       ("outputnode.probseg", "inputnode.probseg"),
                                       ("outputnode.probseg_labels", "inputnode.probseg_labels")]),
        (preproc_wf if template_mask else segmentation_wf, outputs_wf, [("outputnode.brain_mask",
                                                                          "inputnode.brain_mask")]),
        (volumes, outputs_wf, [("out_file", "inputnode.volumes")]),
        (plot, outputs_wf, [("out_file", "inputnode.figure")]),
        (report, outputs_wf, [("out_file", "inputnode.report")]),
    ])
    if spec.masks or template_mask:
        workflow.connect([(preproc_wf if template_mask else segmentation_wf, report,
                           [("outputnode.brain_mask", "brain_mask")])])
    return workflow
