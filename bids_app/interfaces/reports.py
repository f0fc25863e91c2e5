"""Nipype wrappers of the per-image QC picture and HTML report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nb
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, isdefined, traits

from ..reports.figures import plot_segmentation
from ..reports.subject import write_subject_report


class _PlotInputSpec(BaseInterfaceInputSpec):
    t1w = File(exists=True, mandatory=True, desc="the T1w")
    dseg = File(exists=True, mandatory=True, desc="its label map on the same grid")


class _PlotOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="PNG picture")


class SegmentationPlot(SimpleInterface):
    """Slices through the labelled region with the labels drawn in FreeSurfer colours."""

    input_spec = _PlotInputSpec
    output_spec = _PlotOutputSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = plot_segmentation(
            nb.load(self.inputs.t1w), nb.load(self.inputs.dseg), os.path.join(runtime.cwd, "dseg.png"))
        return runtime


class _ReportInputSpec(BaseInterfaceInputSpec):
    source_file = File(mandatory=True, desc="the raw T1w")
    figure = File(exists=True, mandatory=True, desc="the QC picture")
    volumes = File(exists=True, mandatory=True, desc="the volumes TSV")
    provenance = File(exists=True, mandatory=True, desc="the engine's provenance JSON")
    desc = traits.Str(mandatory=True, desc="desc label of the run")
    t1w = File(exists=True, mandatory=True, desc="the T1w the viewer shows")
    dseg = File(exists=True, mandatory=True, desc="its label map on the same grid")
    brain_mask = File(exists=True, desc="brain mask on the same grid (intracranial volume for the volume shares)")
    metadata = traits.Dict(desc="the run's sidecar fields (software versions, settings)")
    preprocessing = traits.Dict(desc="the preprocessing applied before segmenting")
    quality_flags = traits.List(traits.Str, desc="failed plausibility checks (empty: all passed)")


class _ReportOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="self-contained HTML report")


class SubjectReport(SimpleInterface):
    """One HTML page per segmented T1w: methods, picture, viewer, volumes, provenance."""

    input_spec = _ReportInputSpec
    output_spec = _ReportOutputSpec

    def _run_interface(self, runtime):
        source = Path(self.inputs.source_file)
        self._results["out_file"] = write_subject_report(
            os.path.join(runtime.cwd, "report.html"),
            title=f"subseg {self.inputs.desc}: {source.name}",
            source=str(source),
            figure=self.inputs.figure,
            volumes=self.inputs.volumes,
            provenance=json.loads(Path(self.inputs.provenance).read_text()),
            t1w=self.inputs.t1w,
            dseg=self.inputs.dseg,
            brain_mask=self.inputs.brain_mask if isdefined(self.inputs.brain_mask) else None,
            metadata=self.inputs.metadata if isdefined(self.inputs.metadata) else None,
            preprocessing=self.inputs.preprocessing if isdefined(self.inputs.preprocessing) else None,
            flags=self.inputs.quality_flags if isdefined(self.inputs.quality_flags) else None,
        )
        return runtime
