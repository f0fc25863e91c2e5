"""Is a segmentation plausible? Checked on every label map before the image is called done.

The checks are wide on purpose: they catch a failed or mirrored segmentation, not an unusual brain.

- every expected structure is present;
- each structure's volume lies within :data:`VOLUME_BOUNDS` (``data/plausible_volumes.tsv``: one hemisphere,
  in mm^3, from about a third to about twice the adult volumes FreeSurfer's aseg reports, so that atrophy
  (ADNI) and large heads pass);
- each Left structure lies on the subject's left of the midline in world (RAS) space, its Right homolog on
  the right; the midline is the mean left-right position of all subcortical voxels;
- with a whole-brain labelling (cortex labelled), a brain volume within :data:`BRAIN_VOLUME_MM3`;
- with a test-time flip (MeshNet's ``--tta``, SynthSeg's own), each structure's two passes agree (``SelfConsistency``
  in the engine's provenance, :mod:`bids_app.utils.mirror`);
- with a model that normalises intensities inside the non-zero region (nnU-Net's usual plan for skull-stripped
  training heads), the image has, or could be given, an exact-zero background (``ZeroBackground`` in the
  engine's provenance, :mod:`bids_app.utils.zero_background`).

A failed check does not remove the outputs: it is recorded as ``QualityFlags`` in the sidecar and the
report, and the run counts the image as failed.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import nibabel as nb
import numpy as np
import pandas as pd
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, isdefined, traits

from ..labels import LABELS, SUBCORTICAL, homologous_pairs, structure_name
from ..utils.mirror import self_consistency_flags
from ..utils.zero_background import zero_background_flags

#: Bounds (mm^3) of one hemisphere's structure, by structure name without its hemisphere.
VOLUME_BOUNDS: dict[str, tuple[float, float]] = {
    row.structure: (float(row.min_mm3), float(row.max_mm3))
    for row in pd.read_csv(resources.files("bids_app.data") / "plausible_volumes.tsv", sep="\t").itertuples()
}

#: Brain volume (mm^3, all labels but CSF-like ones) of an adult, widely: about 0.6 to 2.2 litres.
BRAIN_VOLUME_MM3 = (600_000.0, 2_200_000.0)

#: Labels counted outside the brain volume: ventricles, CSF, vessels, choroid plexus.
_NOT_BRAIN = {4, 5, 14, 15, 24, 30, 31, 43, 44, 62, 63, 72}


def plausibility_flags(labels: nb.spatialimages.SpatialImage, expected) -> list[str]:
    """One sentence per failed check of ``labels`` (FreeSurfer numbers); empty when all pass."""
    data = np.asanyarray(labels.dataobj).astype(np.int64)
    voxel_mm3 = float(abs(np.linalg.det(labels.affine[:3, :3])))
    counts = np.bincount(data.ravel()[data.ravel() > 0], minlength=max(LABELS) + 1)
    expected = sorted(int(label) for label in expected)
    flags = []
    missing = [LABELS[label].name for label in expected if counts[label] == 0]
    if missing:
        flags.append(f"expected structures missing: {', '.join(missing)}")
    for label in expected:
        if counts[label] == 0:
            continue
        bounds = VOLUME_BOUNDS.get(structure_name(LABELS[label].name))
        volume = counts[label] * voxel_mm3
        if bounds and not bounds[0] <= volume <= bounds[1]:
            flags.append(f"{LABELS[label].name} volume {volume:.0f} mm3 outside {bounds[0]:.0f} to "
                         f"{bounds[1]:.0f} mm3")
    flags += _side_flags(data, labels.affine, [label for label in expected if counts[label]])
    if counts[3] and counts[42]:  # whole-brain labelling: cortex present
        brain = sum(int(count) for label, count in enumerate(counts) if label not in _NOT_BRAIN) * voxel_mm3
        if not BRAIN_VOLUME_MM3[0] <= brain <= BRAIN_VOLUME_MM3[1]:
            flags.append(f"brain volume {brain / 1000:.0f} ml outside {BRAIN_VOLUME_MM3[0] / 1000:.0f} to "
                         f"{BRAIN_VOLUME_MM3[1] / 1000:.0f} ml")
    return flags


def _side_flags(data: np.ndarray, affine: np.ndarray, present) -> list[str]:
    """Left structures on the subject's left of the midline (world x smaller, RAS), Right ones on the right."""
    pairs = homologous_pairs(present)
    if not pairs:
        return []
    paired = [label for pair in pairs for label in pair]
    voxels = np.nonzero(np.isin(data, paired))
    values = data[voxels]
    world_x = sum(index * affine[0, axis] for axis, index in enumerate(voxels)) + affine[0, 3]
    sums = np.bincount(values, weights=world_x, minlength=max(paired) + 1)
    counts = np.bincount(values, minlength=max(paired) + 1)
    midline = float(world_x.mean())
    flags = []
    for left, right in pairs:
        left_x, right_x = sums[left] / counts[left], sums[right] / counts[right]
        if not left_x < midline < right_x:
            flags.append(f"{LABELS[left].name} (x={left_x:.0f} mm) and {LABELS[right].name} (x={right_x:.0f} mm) "
                         f"are not on the subject's left and right of the midline (x={midline:.0f} mm): "
                         f"Left and Right swapped?")
    return flags


def expected_structures(engine_labels=None) -> list[int]:
    """The subcortical structures an engine is expected to find (all of them, or those its model has)."""
    if engine_labels is None:
        return list(SUBCORTICAL)
    return [label for label in SUBCORTICAL if label in set(int(i) for i in engine_labels)]


class _PlausibilityInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="a label map with FreeSurfer numbers, on the T1w grid")
    expected_labels = traits.List(traits.Int, mandatory=True, desc="structures the engine must find")
    provenance = File(exists=True, desc="the engine's provenance JSON (its SelfConsistency and ZeroBackground, if "
                                        "any, are checked)")


class _PlausibilityOutputSpec(TraitedSpec):
    flags = traits.List(traits.Str, desc="one sentence per failed check (empty: all passed)")
    fields = traits.Dict(desc="sidecar fields: QualityFlags")


class CheckPlausibility(SimpleInterface):
    """Check that a segmentation is plausible (see the module); never fails, only flags."""

    input_spec = _PlausibilityInputSpec
    output_spec = _PlausibilityOutputSpec

    def _run_interface(self, runtime):
        flags = plausibility_flags(nb.load(self.inputs.in_file), self.inputs.expected_labels)
        if isdefined(self.inputs.provenance):
            provenance = json.loads(Path(self.inputs.provenance).read_text())
            flags += self_consistency_flags(provenance.get("SelfConsistency"))
            flags += zero_background_flags(provenance.get("ZeroBackground"))
        self._results.update(flags=flags, fields={"QualityFlags": flags})
        return runtime
