"""A methods paragraph written from the run's own record, ready to paste into a paper, with its citations.

>>> text, refs = methods_text({"Engine": "nnunet", "Model": "Dataset501", "Folds": [0, 1], "Device": "cpu"},
...                           {"BiasCorrection": "N4"}, {"subseg": "0.1.0", "nipype": "1.8.6"})
>>> "nnU-Net" in text and "N4" in text and "subseg 0.1.0" in text
True
>>> [key for key, _ in refs][:2]
['subseg', 'nipype']
"""

from __future__ import annotations

#: References, by key, in the order they are first cited.
REFERENCES = {
    "subseg": "subseg: subcortical segmentation of T1-weighted MRI as a BIDS App.",
    "nipype": "Gorgolewski K, et al. Nipype: a flexible, lightweight and extensible neuroimaging data processing "
              "framework in Python. Front Neuroinform. 2011;5:13. doi:10.3389/fninf.2011.00013",
    "n4": "Tustison NJ, et al. N4ITK: improved N3 bias correction. IEEE Trans Med Imaging. 2010;29(6):1310-1320. "
          "doi:10.1109/TMI.2010.2046908",
    "simpleitk": "Lowekamp BC, et al. The design of SimpleITK. Front Neuroinform. 2013;7:45. "
                 "doi:10.3389/fninf.2013.00045",
    "meshnet": "Fedorov A, et al. End-to-end learning of brain tissue segmentation from imperfect labeling. "
               "IJCNN 2017. doi:10.1109/IJCNN.2017.7966333",
    "brainchop": "Masoud M, et al. Brainchop: in-browser MRI volumetric segmentation and rendering. J Open Source "
                 "Softw. 2023;8(83):5098. doi:10.21105/joss.05098",
    "nnunet": "Isensee F, et al. nnU-Net: a self-configuring method for deep learning-based biomedical image "
              "segmentation. Nat Methods. 2021;18:203-211. doi:10.1038/s41592-020-01008-z",
    "synthseg": "Billot B, et al. SynthSeg: segmentation of brain MRI scans of any contrast and resolution without "
                "retraining. Med Image Anal. 2023;86:102789. doi:10.1016/j.media.2023.102789",
    "synthseg_robust": "Billot B, et al. Robust machine learning segmentation for large-scale analysis of "
                       "heterogeneous clinical brain MRI datasets. PNAS. 2023;120(9):e2216399120. "
                       "doi:10.1073/pnas.2216399120",
    "freesurfer": "Fischl B, et al. Whole brain segmentation: automated labeling of neuroanatomical structures in "
                  "the human brain. Neuron. 2002;33(3):341-355. doi:10.1016/S0896-6273(02)00569-X",
}


def _engine_sentence(provenance: dict) -> tuple[str, list[str]]:
    engine = provenance.get("Engine", "unknown")
    device = provenance.get("Device", "an unrecorded device")
    if engine == "meshnet":
        return (f"The brain was extracted with brainchop's MeshNet model {provenance.get('BrainExtractionModel')} "
                f"and the structures were labelled by its MeshNet model {provenance.get('Model')} "
                f"(a fully convolutional network of dilated 3D convolutions [meshnet], weights from brainchop "
                f"[brainchop]) on a T1w conformed to 256^3 1 mm voxels, on {device}.", ["meshnet", "brainchop"])
    if engine == "nnunet":
        folds = ", ".join(str(fold) for fold in provenance.get("Folds", [])) or "unrecorded"
        return (f"The structures were labelled by nnU-Net [nnunet] with the trained model "
                f"{provenance.get('Model')} (configuration {provenance.get('Configuration', 'unrecorded')}, "
                f"trainer {provenance.get('Trainer', 'unrecorded')}, folds {folds}, predictions of the folds "
                f"averaged), on {device}.", ["nnunet"])
    if engine == "synthseg":
        robust = provenance.get("Options", {}).get("robust")
        keys = ["synthseg", "synthseg_robust"] if robust else ["synthseg"]
        cited = " ".join(f"[{key}]" for key in keys)
        return (f"The structures were labelled by {provenance.get('Version', 'SynthSeg')} {cited} with the "
                f"published weights ({provenance.get('Model')}), on {device}.", keys)
    return f"The structures were labelled by the {engine} engine on {device}.", []


def _preprocessing_sentence(preprocessing: dict) -> tuple[str, list[str]]:
    steps, keys = [], []
    if preprocessing.get("BiasCorrection") == "N4":
        steps.append("corrected for intensity non-uniformity with N4 [n4] in SimpleITK [simpleitk]")
        keys += ["n4", "simpleitk"]
    if preprocessing.get("Template"):
        steps.append(f"aligned to the {preprocessing['Template']} template (affine, SimpleITK)")
        keys += [] if "simpleitk" in keys else ["simpleitk"]
    if preprocessing.get("BrainMask") == "template":
        steps.append("masked with the template's brain mask")
    if not steps:
        return "", []
    return "Before segmentation, the T1w was " + ", ".join(steps) + ".", keys


def _return_sentence(how: str | None) -> str:
    """How the label map reached the T1w's own grid, as the engine recorded it (``ReturnToInputGrid``)."""
    if how is None:
        return "The label map is on the T1w's own grid."
    if how.startswith("exact"):
        return ("The engine's grid lay on the T1w's own voxel lattice, so the label map was returned to it without "
                "interpolation.")
    if how.startswith("posteriors"):
        return ("The engine's posterior maps were resampled linearly onto the T1w's own grid and each voxel was "
                "given the most probable label.")
    return f"The label map was resampled onto the T1w's own grid ({how})."


def methods_text(provenance: dict, preprocessing: dict, versions: dict) -> tuple[str, list[tuple[str, str]]]:
    """The paragraph (plain text, citations as ``[key]``) and the cited references as (key, text) pairs."""
    subseg = versions.get("subseg", "unknown version")
    library = ", ".join(f"{name} {version}" for name, version in versions.items() if name != "subseg")
    parts = [f"Subcortical structures were segmented with subseg {subseg} [subseg], a BIDS App built on "
             f"Nipype [nipype] ({library})."]
    keys = ["subseg", "nipype"]
    for sentence, cited in (_preprocessing_sentence(preprocessing), _engine_sentence(provenance)):
        if sentence:
            parts.append(sentence)
            keys += [key for key in cited if key not in keys]
    parts.append(f"{_return_sentence(provenance.get('ReturnToInputGrid'))} Labels follow FreeSurfer's numbering "
                 "and names [freesurfer]; structure volumes are voxel counts times the voxel volume.")
    keys.append("freesurfer")
    return " ".join(parts), [(key, REFERENCES[key]) for key in keys]
