"""The participant graph builds without a model and runs its preprocessing for real."""

from pathlib import Path

import nibabel as nb
import numpy as np
import pytest

from bids_app.engines import engine_spec
from bids_app.engines.meshnet import MeshNetOptions
from bids_app.engines.nnunet import NNUNetOptions
from bids_app.workflows.base import branch_name, init_subseg_wf
from bids_app.workflows.preprocessing import init_preproc_wf


@pytest.mark.parametrize("engine, options", [("meshnet", MeshNetOptions()), ("nnunet", NNUNetOptions(model="."))])
def test_one_branch_per_t1w(tmp_path, engine, options):
    t1w_files = [Path("sub-01/anat/sub-01_T1w.nii.gz"), Path("sub-02/ses-A/anat/sub-02_ses-A_run-1_T1w.nii.gz")]
    workflow = init_subseg_wf(t1w_files=t1w_files, metadata={t1w: {} for t1w in t1w_files},
                              output_dir=tmp_path / "out", work_dir=tmp_path / "work", engine=engine,
                              engine_options=options, desc=engine, device="cpu", omp_nthreads=1)
    names = {node.name for node in workflow._graph.nodes()}
    assert names == {"sub_01_wf", "sub_02_ses_A_run_1_wf"}
    nodes = workflow._create_flat_graph().nodes()
    segment = [node for node in nodes if node.name == f"segment_{engine}"]
    assert len(segment) == 2
    sinks = {node.name for node in nodes if node.name.startswith("ds_")}
    assert {"ds_dseg", "ds_volumes", "ds_figure", "ds_report"} <= sinks
    assert ("ds_brain_mask" in sinks) == (engine == "meshnet")


def test_tta_reaches_the_engine_and_its_self_consistency_the_plausibility_check(tmp_path):
    t1w = Path("sub-01/anat/sub-01_T1w.nii.gz")
    workflow = init_subseg_wf(t1w_files=[t1w], metadata={t1w: {}}, output_dir=tmp_path / "out",
                              work_dir=tmp_path / "work", engine="meshnet", engine_options=MeshNetOptions(tta=True),
                              desc="meshnet", device="cpu", omp_nthreads=1)
    graph = workflow._create_flat_graph()
    segment = next(node for node in graph.nodes() if node.name == "segment_meshnet")
    plausibility = next(node for node in graph.nodes() if node.name == "plausibility")
    assert segment.inputs.options["tta"] is True
    into_check = [dest for source in graph.predecessors(plausibility)
                  for _, dest in graph.get_edge_data(source, plausibility)["connect"]]
    assert "provenance" in into_check  # the engine's provenance JSON, which holds SelfConsistency


def test_branch_names_are_node_safe():
    assert branch_name(Path("sub-03_ses-2_acq-tilted_T1w.nii.gz")) == "sub_03_ses_2_acq_tilted_wf"


def test_preprocessing_conforms_to_the_engine_grid(tmp_path, shared_data):
    scan = np.load(shared_data / "voxelmorph" / "test_scan.npz")["vol"].astype(np.float32)
    t1w = tmp_path / "sub-01_T1w.nii.gz"
    nb.Nifti1Image(scan, np.diag([1.0, 1.0, 1.0, 1.0])).to_filename(t1w)
    workflow = init_preproc_wf(**engine_spec("meshnet").grid)
    workflow.base_dir = str(tmp_path / "work")
    workflow.inputs.inputnode.t1w = str(t1w)
    result = workflow.run(plugin="Linear")
    conform_node = next(node for node in result.nodes() if node.name == "conform")
    conformed = nb.load(conform_node.result.outputs.out_file)
    assert conformed.shape == (256, 256, 256)
    assert nb.aff2axcodes(conformed.affine) == ("L", "I", "A")
