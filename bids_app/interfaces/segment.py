"""Run any registered engine on a conformed T1w: a label map, its provenance and the engine's other maps out."""

from __future__ import annotations

import json
import os
import time

import nibabel as nb
from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    InputMultiObject,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)

from ..engines import engine_spec


class SegmentInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="T1w image conformed for the engine")
    engine = traits.Str(mandatory=True, desc="engine name in the registry (bids_app.engines.ENGINES)")
    options = traits.Dict(traits.Str, traits.Any, usedefault=True,
                          desc="fields of the engine's options dataclass (checked when the engine is built)")
    reference = File(exists=True, desc="the T1w whose grid the outputs take, for engines whose spec has "
                                       "reference_grid (default: in_file's)")
    device = traits.Enum("auto", "cpu", "cuda", usedefault=True, desc="torch device")
    omp_nthreads = traits.Int(1, usedefault=True, desc="torch CPU threads")
    write_probseg = traits.Bool(False, usedefault=True, desc="also write posterior maps")


class SegmentOutputSpec(TraitedSpec):
    out_dseg = File(exists=True, desc="label map (FreeSurfer numbers) on the grid of in_file")
    out_provenance = File(exists=True, desc="JSON with the engine's provenance for the sidecar")
    out_probseg = InputMultiObject(File(exists=True), desc="posterior maps, one per label")
    out_probseg_labels = traits.List(traits.Int, desc="FreeSurfer label of each posterior map")
    out_brain_mask = File(desc="brain mask on the grid of in_file, where the engine makes one")


class Segment(SimpleInterface):
    """Build the engine from its typed options, ``predict`` ``in_file`` and write the result to ``runtime.cwd``."""

    input_spec = SegmentInputSpec
    output_spec = SegmentOutputSpec

    def _segment(self, in_file):
        spec = engine_spec(self.inputs.engine)
        engine = spec.engine_class().from_options(
            spec.options(**self.inputs.options), device=self.inputs.device, omp_nthreads=self.inputs.omp_nthreads,
            probabilities=self.inputs.write_probseg)
        reference = nb.load(self.inputs.reference) if isdefined(self.inputs.reference) else None
        return engine.predict(nb.load(in_file), reference=reference)

    def _run_interface(self, runtime):
        start = time.perf_counter()
        segmentation = self._segment(self.inputs.in_file)
        segmentation.provenance["SegmentationSeconds"] = round(time.perf_counter() - start, 2)
        self._results["out_dseg"] = _save(segmentation.labels, runtime.cwd, "dseg.nii.gz")
        provenance = os.path.join(runtime.cwd, "provenance.json")
        with open(provenance, "w") as handle:
            json.dump(segmentation.provenance, handle, indent=2, default=str)
        self._results["out_provenance"] = provenance
        if "brain" in segmentation.masks:
            self._results["out_brain_mask"] = _save(segmentation.masks["brain"], runtime.cwd, "brain_mask.nii.gz")
        labels = sorted(segmentation.probabilities)
        self._results["out_probseg_labels"] = labels
        self._results["out_probseg"] = [
            _save(segmentation.probabilities[label], runtime.cwd, f"probseg_{label}.nii.gz") for label in labels
        ]
        return runtime


def _save(image: nb.Nifti1Image, folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    image.to_filename(path)
    return path
