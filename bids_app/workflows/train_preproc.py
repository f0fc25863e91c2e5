"""The participant level's preprocessing for training pairs: the T1w through it, the labels carried along."""

from __future__ import annotations

from nipype.interfaces.utility import IdentityInterface, Merge
from nipype.pipeline import engine as pe

from ..engines.nnunet import CONFORM
from ..interfaces.transforms import ApplyAffine
from .preprocessing import init_preproc_wf


def init_train_preproc_wf(*, bias_correction: bool = False, template: str | None = None,
                          brain_mask: str | None = None, omp_nthreads: int = 1,
                          name: str = "train_preproc_wf") -> pe.Workflow:
    """Preprocess a T1w as the participant level does before nnU-Net; move its labels to the same space.

    .. workflow::

        from bids_app.workflows.train_preproc import init_train_preproc_wf
        wf = init_train_preproc_wf(bias_correction=True, template="MNI152NLin2009cAsym")

    Parameters
    ----------
    bias_correction, template, brain_mask
        As ``--bias-correction``, ``--align-to`` and ``--brain-mask``
        (:func:`~bids_app.workflows.preprocessing.init_preproc_wf`).
    omp_nthreads : int
        Threads for N4 and registration.

    Inputs
    ------
    t1w
        The raw T1w.
    labels
        Its reference label map, on its grid.

    Outputs
    -------
    t1w
        The T1w as the engine sees it at the participant level.
    labels
        The label map on that image's grid (nearest neighbour) when aligned to a template; else as given.
    pair
        ``[t1w, labels]``.
    """
    workflow = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=["t1w", "labels"]), name="inputnode")
    outputnode = pe.Node(IdentityInterface(fields=["t1w", "labels", "pair"]), name="outputnode")
    preproc_wf = init_preproc_wf(**CONFORM, bias_correction=bias_correction, template=template,
                                 brain_mask=brain_mask, omp_nthreads=omp_nthreads)
    pair = pe.Node(Merge(2), name="pair")
    workflow.connect([
        (inputnode, preproc_wf, [("t1w", "inputnode.t1w")]),
        (preproc_wf, outputnode, [("outputnode.t1w_conformed", "t1w")]),
        (preproc_wf, pair, [("outputnode.t1w_conformed", "in1")]),
        (pair, outputnode, [("out", "pair")]),
    ])
    if template is None:
        workflow.connect([
            (inputnode, outputnode, [("labels", "labels")]),
            (inputnode, pair, [("labels", "in2")]),
        ])
        return workflow
    labels_to_template = pe.Node(ApplyAffine(interpolation="nearest"), name="labels_to_template", mem_gb=1)
    workflow.connect([
        (inputnode, labels_to_template, [("labels", "in_file")]),
        (preproc_wf, labels_to_template, [("outputnode.t1w_conformed", "reference"), ("outputnode.xfm", "xfm")]),
        (labels_to_template, outputnode, [("out_file", "labels")]),
        (labels_to_template, pair, [("out_file", "in2")]),
    ])
    return workflow


def run_train_preproc(images, base_dir, *, preprocessing: dict, omp_nthreads: int = 1, nprocs: int = 1) -> list:
    """Run :func:`init_train_preproc_wf` on each ``(name, t1w, labels)``; return ``(name, t1w, labels)`` out."""
    workflow = pe.Workflow(name="train_preproc_wf", base_dir=str(base_dir))
    for index, (_, t1w, labels) in enumerate(images):
        branch = init_train_preproc_wf(**preprocessing, omp_nthreads=omp_nthreads, name=f"image_{index}_wf")
        branch.inputs.inputnode.t1w, branch.inputs.inputnode.labels = str(t1w), str(labels)
        workflow.add_nodes([branch])
    graph = workflow.run(plugin="MultiProc", plugin_args={"n_procs": nprocs, "raise_insufficient": False})
    pairs = {}
    for node in graph.nodes():
        if node.name == "pair":
            index = int(node.fullname.split(".")[1].split("_")[1])
            pairs[index] = node.result.outputs.out
    return [(name, *pairs[index]) for index, (name, _, _) in enumerate(images)]
