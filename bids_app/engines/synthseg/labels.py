"""The label lists SynthSeg's networks output, in channel order, as FreeSurfer numbers.

The channel order is the sorted list of labels (SynthSeg sorts its label table with ``np.unique``).

>>> len(SEGMENTATION_LABELS["2.0"]), len(SEGMENTATION_LABELS["1.0"]), len(PARCELLATION_LABELS)
(33, 32, 69)
>>> [QC_NAMES[group - 1] for group in qc_groups((0, 17, 53, 24))[1:3]]
['hippocampus+amygdala', 'hippocampus+amygdala']
"""

from __future__ import annotations

from bids_app.labels import homolog

_LEFT = (2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 17, 18, 26, 28)
_RIGHT = tuple(homolog(label) for label in _LEFT)

#: Output labels of the segmentation network, by SynthSeg version (2.0 adds CSF, 24).
SEGMENTATION_LABELS: dict[str, tuple[int, ...]] = {
    "1.0": tuple(sorted((0, 14, 15, 16) + _LEFT + _RIGHT)),
    "2.0": tuple(sorted((0, 14, 15, 16, 24) + _LEFT + _RIGHT)),
}

#: Structures whose posteriors SynthSeg keeps to one connected component together (its "topological
#: classes"): cerebral white matter, cortex and lateral ventricles; cerebellum white matter and cortex.
#: Every other labelled structure but background and CSF is a class of its own.
_GROUPED = ((2, 3, 4, 5), (7, 8), (41, 42, 43, 44), (46, 47))
_UNGROUPED = (0, 24)

#: Cortical parcellation labels (Desikan-Killiany, without 1004/2004 corpus callosum), background first.
PARCELLATION_LABELS: tuple[int, ...] = (0,) + tuple(
    hemi + region for hemi in (1000, 2000) for region in range(1, 36) if region != 4
)

#: Number of tissue groups the robust model's first network and denoiser predict.
ROBUST_GROUPS = 5

#: Cortex labels, replaced by the parcellation when it is asked for.
CORTEX = (3, 42)


#: The structure groups SynthSeg 2.0's quality control scores (``synthseg_qc_labels_2.0.npy``), by left or
#: midline label; right labels join their homolog's group, and every other label (background, CSF) group 0.
_QC_GROUP_OF = {2: 1, 11: 1, 26: 1, 28: 1, 3: 2, 4: 3, 5: 3, 14: 3, 15: 3, 7: 4, 8: 4, 16: 5, 10: 6, 12: 7, 13: 7,
                17: 8, 18: 8}

#: Names of the scored groups 1, 2, ... (``synthseg_qc_names_2.0.npy``); group 0 gets no score.
QC_NAMES = ("general white matter", "general grey matter", "general csf", "cerebellum", "brainstem", "thalamus",
            "putamen+pallidum", "hippocampus+amygdala")


def qc_groups(labels) -> list[int]:
    """The quality-control group of each label."""
    right = {homolog(label): group for label, group in _QC_GROUP_OF.items() if homolog(label) is not None}
    groups = {**_QC_GROUP_OF, **right}
    return [groups.get(int(label), 0) for label in labels]


def topology_classes(labels) -> list[tuple[int, ...]]:
    """The channel indices of each topological class (background and CSF belong to none)."""
    labels = list(labels)
    classes = [tuple(labels.index(label) for label in group) for group in _GROUPED]
    grouped = {label for group in _GROUPED for label in group} | set(_UNGROUPED)
    classes += [(i,) for i, label in enumerate(labels) if label not in grouped]
    return classes
