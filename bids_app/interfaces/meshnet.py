"""Segment a conformed T1w with brainchop's MeshNet (:class:`bids_app.engines.meshnet.MeshNetEngine`)."""

from __future__ import annotations

import nibabel as nb
from nipype.interfaces.base import traits

from .segment import SegmentBase, SegmentInputSpec


class MeshNetSegmentInputSpec(SegmentInputSpec):
    parc = traits.Bool(
        False, usedefault=True,
        desc="keep the Desikan-Killiany cortical parcels (else cortex is Left/Right-Cerebral-Cortex)",
    )


class MeshNetSegment(SegmentBase):
    """brainchop's aparc+aseg MeshNet, with mindgrab brain extraction; writes labels, brain mask, posteriors."""

    input_spec = MeshNetSegmentInputSpec

    def _segment(self, in_file):
        from ..engines.meshnet import MeshNetEngine

        engine = MeshNetEngine(
            device=self.inputs.device, omp_nthreads=self.inputs.omp_nthreads, parc=self.inputs.parc,
            probabilities=self.inputs.write_probseg,
        )
        return engine.predict(nb.load(in_file))
