"""Nipype interface: segment a conformed T1w with a trained nnU-Net model folder."""

from __future__ import annotations

import nibabel as nb
from nipype.interfaces.base import Directory, traits

from ..engines.nnunet import NNUNetEngine
from .segment import SegmentBase, SegmentInputSpec


class NNUNetSegmentInputSpec(SegmentInputSpec):
    model_dir = Directory(exists=True, mandatory=True,
                          desc="nnU-Net model folder (dataset.json, plans.json, fold_*/checkpoint_*.pth)")
    folds = traits.List(traits.Str, desc="folds to ensemble (default: every fold_* present)")
    checkpoint = traits.Str("checkpoint_final.pth", usedefault=True, desc="checkpoint file name in each fold")


class NNUNetSegment(SegmentBase):
    """Run :class:`~bids_app.engines.nnunet.NNUNetEngine` on ``in_file`` (conformed to RAS)."""

    input_spec = NNUNetSegmentInputSpec

    def _segment(self, in_file):
        engine = NNUNetEngine(
            self.inputs.model_dir,
            folds=self.inputs.folds or None,
            checkpoint=self.inputs.checkpoint,
            device=self.inputs.device,
            omp_nthreads=self.inputs.omp_nthreads,
            probabilities=self.inputs.write_probseg,
        )
        return engine.predict(nb.load(in_file))
