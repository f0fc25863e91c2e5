"""The preprocessing a run applies before segmenting, as a dict a model folder can record and compare.

>>> trained = preprocessing_settings(bias_correction=True, template="MNI152NLin2009cAsym")
>>> trained["Template"], trained["BiasCorrection"]
('MNI152NLin2009cAsym', 'N4')
>>> compare_preprocessing(trained, dict(trained)) is None
True
>>> print(compare_preprocessing(trained, preprocessing_settings()))
The model was trained with other preprocessing than this run uses (BiasCorrection: model 'N4', run None; Template: model 'MNI152NLin2009cAsym', run None; TemplateResolution: model 1, run None); segmentations may be worse: run with the model's settings (--bias-correction, --align-to, --brain-mask).
"""

from __future__ import annotations

#: Settings when no option is given; a model folder that records nothing is taken to have used these.
DEFAULTS = {"BiasCorrection": None, "Template": None, "TemplateResolution": None, "BrainMask": None}


def preprocessing_settings(*, bias_correction: bool = False, template: str | None = None,
                           brain_mask: str | None = None, template_resolution: int = 1) -> dict:
    """The preprocessing options of a run (``--bias-correction``, ``--align-to``, ``--brain-mask``)."""
    return {
        "BiasCorrection": "N4" if bias_correction else None,
        "Template": template,
        "TemplateResolution": template_resolution if template else None,
        "BrainMask": brain_mask,
    }


def compare_preprocessing(model: dict | None, run: dict) -> str | None:
    """A warning when the model's recorded preprocessing differs from the run's; None when they agree."""
    model = {**DEFAULTS, **(model or {})}
    run = {**DEFAULTS, **run}
    differences = [f"{key}: model {model[key]!r}, run {run[key]!r}" for key in sorted(DEFAULTS) if model[key] != run[key]]
    if not differences:
        return None
    return (
        f"The model was trained with other preprocessing than this run uses ({'; '.join(differences)}); "
        "segmentations may be worse: run with the model's settings (--bias-correction, --align-to, --brain-mask)."
    )
