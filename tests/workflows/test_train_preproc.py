"""The training images go through the participant level's preprocessing; the labels follow into its space."""

from bids_app.workflows.train_preproc import init_train_preproc_wf


def test_aligned_training_moves_labels_with_nearest_neighbour():
    wf = init_train_preproc_wf(bias_correction=True, template="MNI152NLin2009cAsym", brain_mask="template")
    names = wf.list_node_names()
    assert {"preproc_wf.preproc_steps_wf.n4", "preproc_wf.apply_template_mask", "labels_to_template"} <= set(names)
    node = wf.get_node("labels_to_template")
    assert node.inputs.interpolation == "nearest" and node.inputs.invert is False


def test_without_a_template_labels_stay_on_the_t1w_grid():
    wf = init_train_preproc_wf(bias_correction=True)
    assert "labels_to_template" not in wf.list_node_names()
    assert "preproc_wf.preproc_steps_wf.n4" in wf.list_node_names()
