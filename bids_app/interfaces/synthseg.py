"""Nipype interface running SynthSeg (PyTorch port) on a T1w."""

from __future__ import annotations

from nipype.interfaces.base import traits

from bids_app.interfaces.segment import SegmentBase, SegmentInputSpec


class SynthSegInputSpec(SegmentInputSpec):
    weights = traits.Str(mandatory=True, desc="SynthSeg .h5 weights file, or its name in the subseg cache")
    robust = traits.Bool(False, usedefault=True, desc="weights are SynthSeg-robust (synthseg_robust_2.0.h5)")
    parc = traits.Bool(False, usedefault=True, desc="replace cortex by its parcellation (synthseg_parc_2.0.h5)")
    fast = traits.Bool(False, usedefault=True, desc="skip the left-right flip and per-structure clean-up")
    qc = traits.Bool(False, usedefault=True, desc="add quality-control scores to the provenance (synthseg_qc_2.0.h5)")
    crop = traits.Either(None, traits.Int, traits.List(traits.Int, minlen=3, maxlen=3), default=None,
                         usedefault=True, desc="analyse a centred patch of this size (voxels) only")


class SynthSegSegment(SegmentBase):
    """Segment ``in_file`` with SynthSeg; labels and posteriors on the grid of ``in_file``."""

    input_spec = SynthSegInputSpec

    def _segment(self, in_file):
        from bids_app.engines.synthseg import SynthSegEngine

        engine = SynthSegEngine(
            self.inputs.weights, device=self.inputs.device, omp_nthreads=self.inputs.omp_nthreads,
            robust=self.inputs.robust, parc=self.inputs.parc, fast=self.inputs.fast,
            probabilities=self.inputs.write_probseg, crop=self.inputs.crop, qc=self.inputs.qc)
        return engine.predict(in_file)
