"""Segment a conformed T1w with brainchop's MeshNet (:class:`bids_app.engines.meshnet.MeshNetEngine`)."""

from __future__ import annotations

import nibabel as nb
from nipype.interfaces.base import File, isdefined, traits

from .segment import SegmentBase, SegmentInputSpec


class MeshNetSegmentInputSpec(SegmentInputSpec):
    parc = traits.Bool(
        False, usedefault=True,
        desc="keep the Desikan-Killiany cortical parcels (else cortex is Left/Right-Cerebral-Cortex)",
    )
    tta = traits.Bool(False, usedefault=True,
                      desc="also segment the head mirrored left-right, average both, record their agreement")
    reference = File(exists=True, desc="the T1w whose grid the outputs take (default: in_file's); labels come "
                                       "from resampled posteriors where it is not the engine grid's lattice")


class MeshNetSegment(SegmentBase):
    """brainchop's aparc+aseg MeshNet, with mindgrab brain extraction; writes labels, brain mask, posteriors."""

    input_spec = MeshNetSegmentInputSpec

    def _segment(self, in_file):
        from ..engines.meshnet import MeshNetEngine

        engine = MeshNetEngine(
            device=self.inputs.device, omp_nthreads=self.inputs.omp_nthreads, parc=self.inputs.parc,
            probabilities=self.inputs.write_probseg, tta=self.inputs.tta,
        )
        reference = nb.load(self.inputs.reference) if isdefined(self.inputs.reference) else None
        return engine.predict(nb.load(in_file), reference=reference)
