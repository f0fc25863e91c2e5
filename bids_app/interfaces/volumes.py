"""Structure volumes of a label map."""

from __future__ import annotations

import os

import nibabel as nb
import numpy as np
import pandas as pd
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec

from ..labels import LABELS
from ..metrics.volumes import volume_mm3, voxel_volume_mm3


def structure_volumes(labels: nb.spatialimages.SpatialImage) -> pd.DataFrame:
    """One row per label present (background left out): structure, label, voxels, volume_mm3."""
    data = np.asanyarray(labels.dataobj).astype(np.int64).ravel()
    voxel_mm3 = voxel_volume_mm3(labels.header.get_zooms()[:3])
    counts = np.bincount(data[data > 0]) if np.any(data > 0) else np.zeros(1, dtype=int)
    present = np.flatnonzero(counts)
    return pd.DataFrame({
        "structure": [LABELS[i].name if i in LABELS else f"label-{i}" for i in present],
        "label": present,
        "voxels": counts[present],
        "volume_mm3": volume_mm3(counts[present], voxel_mm3),
    })


class _VolumesInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="a label map with FreeSurfer numbers")


class _VolumesOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="TSV: structure, label, voxels, volume_mm3")


class StructureVolumes(SimpleInterface):
    """Count the voxels of each structure and convert to mm^3 with the image's voxel size."""

    input_spec = _VolumesInputSpec
    output_spec = _VolumesOutputSpec

    def _run_interface(self, runtime):
        table = structure_volumes(nb.load(self.inputs.in_file))
        self._results["out_file"] = os.path.join(runtime.cwd, "volumes.tsv")
        table.to_csv(self._results["out_file"], sep="\t", index=False)
        return runtime
