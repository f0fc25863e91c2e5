"""The optional preprocessing steps: its graph for each option set, and one real run."""

from __future__ import annotations

from types import SimpleNamespace

import nibabel as nb
import numpy as np
import pytest
from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from bids_app.utils.templates import NILEARN_TEMPLATE, build_templateflow_home
from bids_app.workflows.preproc_steps import init_preproc_steps_wf


@pytest.mark.parametrize(
    ("options", "nodes"),
    [
        ({}, set()),
        ({"bias_correction": True}, {"n4"}),
        ({"template": "MNI152NLin2009cAsym"}, {"register", "t1w_to_template"}),
        ({"bias_correction": True, "template": "MNI152NLin2009cAsym", "brain_mask": "template"},
         {"n4", "register", "t1w_to_template", "mask_to_native"}),
    ],
)
def test_each_option_is_a_node(options, nodes):
    workflow = init_preproc_steps_wf(**options)
    names = set(workflow.list_node_names())
    assert nodes <= names
    assert not ({"n4", "register", "t1w_to_template", "mask_to_native"} - nodes) & names


def test_template_mask_needs_a_template():
    with pytest.raises(ValueError, match="--align-to"):
        init_preproc_steps_wf(brain_mask="template")


@pytest.mark.slow
def test_workflow_runs_offline(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(build_templateflow_home(tmp_path / "templateflow")))
    source = nb.load(shared_data / "fsaverage" / "orig_2mm.mgz")
    t1w = tmp_path / "sub-01_T1w.nii.gz"
    nb.Nifti1Image(np.asanyarray(source.dataobj).astype(np.float32), source.affine).to_filename(t1w)
    preproc_steps_wf = init_preproc_steps_wf(bias_correction=True, template=NILEARN_TEMPLATE, brain_mask="template",
                                     omp_nthreads=2)
    preproc_steps_wf.inputs.inputnode.t1w = str(t1w)
    fields = ["t1w", "xfm", "template_mask", "brain_mask", "provenance"]
    collect = pe.Node(niu.Function(function=_collect, input_names=fields, output_names=["outputs"]), name="collect")
    workflow = pe.Workflow(name="test_wf", base_dir=str(tmp_path / "work"))
    workflow.connect([(preproc_steps_wf, collect, [(f"outputnode.{field}", field) for field in fields])])

    graph = workflow.run(plugin="Linear")

    outputs = SimpleNamespace(**next(node for node in graph.nodes() if node.name == "collect").result.outputs.outputs)
    native = nb.load(t1w)
    brain_mask = nb.load(outputs.brain_mask)
    assert brain_mask.shape == native.shape and np.array_equal(brain_mask.affine, native.affine)
    assert 0 < np.asanyarray(brain_mask.dataobj).mean() < 0.5
    aligned, template_mask = nb.load(outputs.t1w), nb.load(outputs.template_mask)
    assert aligned.shape == template_mask.shape and np.allclose(aligned.affine, template_mask.affine)
    assert outputs.provenance["BiasCorrection"] == "N4"
    assert outputs.provenance["Template"] == NILEARN_TEMPLATE
    assert outputs.provenance["BrainMask"] == "template"
    assert "FinalMetricValue" in outputs.provenance["Registration"]
    assert outputs.xfm.endswith("_xfm.txt")


def _collect(t1w, xfm, template_mask, brain_mask, provenance):
    """The workflow's outputs in one dict (nipype drops identity nodes from the graph it runs)."""
    return {"t1w": t1w, "xfm": xfm, "template_mask": template_mask, "brain_mask": brain_mask,
            "provenance": provenance}
