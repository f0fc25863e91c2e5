"""The Conform interface says in the sidecar whether the T1w was interpolated to reach the engine's grid."""

from __future__ import annotations

import nibabel as nb
import numpy as np
import pytest
from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from bids_app.engines.meshnet import CONFORM
from bids_app.interfaces.conform import Conform
from bids_app.utils.conform import INTENSITY_INTERPOLATION
from bids_app.workflows.preprocessing import init_preproc_wf


@pytest.fixture(scope="module")
def odd_head(shared_data, tmp_path_factory):
    """The niivue subject's real T1w cropped to odd dimensions, and a 1.3 mm copy of it."""
    folder = tmp_path_factory.mktemp("heads")
    norm = nb.load(shared_data / "niivue" / "norm.mgz")
    cropped = norm.slicer[20:201, 15:232, 40:221]
    one_mm = nb.Nifti1Image(np.asanyarray(cropped.dataobj).astype(np.float32), cropped.affine)
    one_mm.to_filename(folder / "one_mm.nii.gz")
    coarse_affine = one_mm.affine.copy()
    coarse_affine[:3, :3] *= 1.3
    coarse = nb.Nifti1Image(np.asanyarray(one_mm.dataobj)[::2, ::2, ::2], coarse_affine)
    coarse.to_filename(folder / "coarse.nii.gz")
    return folder / "one_mm.nii.gz", folder / "coarse.nii.gz"


def test_lattice_conform_is_recorded_as_no_interpolation(odd_head, tmp_path):
    result = Conform(in_file=str(odd_head[0]), **CONFORM).run(cwd=tmp_path)
    record = result.outputs.provenance["Conform"]
    assert record["Interpolation"].startswith("none")
    assert record == {"Orientation": "LIA", "Shape": [256, 256, 256], "VoxelSize": [1.0, 1.0, 1.0],
                      "Interpolation": record["Interpolation"]}
    original = np.asanyarray(nb.load(odd_head[0]).dataobj)
    conformed = np.asanyarray(nb.load(result.outputs.out_file).dataobj)
    assert np.isclose(conformed.sum(dtype=np.float64), original.sum(dtype=np.float64))


def test_resampling_is_recorded_as_cubic(odd_head, tmp_path):
    result = Conform(in_file=str(odd_head[1]), **CONFORM).run(cwd=tmp_path)
    assert result.outputs.provenance["Conform"]["Interpolation"] == INTENSITY_INTERPOLATION


def test_preprocessing_provenance_carries_the_conform_record(odd_head, tmp_path):
    preproc_wf = init_preproc_wf(**CONFORM)
    preproc_wf.inputs.inputnode.t1w = str(odd_head[0])
    collect = pe.Node(niu.Function(function=_identity, input_names=["value"], output_names=["value"]),
                      name="collect")  # nipype drops identity nodes from the graph it runs
    workflow = pe.Workflow(name="test_wf", base_dir=str(tmp_path))
    workflow.connect([(preproc_wf, collect, [("outputnode.provenance", "value")])])
    graph = workflow.run(plugin="Linear")
    provenance = next(node for node in graph.nodes() if node.name == "collect").result.outputs.value
    assert provenance["Conform"]["Interpolation"].startswith("none")


def _identity(value):
    return value
