"""Preprocessing settings recorded by a model and compared with a run's."""

from bids_app.utils.preprocessing_settings import compare_preprocessing, preprocessing_settings


def test_model_without_record_is_taken_as_no_preprocessing():
    assert compare_preprocessing(None, preprocessing_settings()) is None
    warning = compare_preprocessing({}, preprocessing_settings(bias_correction=True))
    assert "BiasCorrection: model None, run 'N4'" in warning


def test_only_differing_settings_are_named():
    trained = preprocessing_settings(template="MNI152NLin2009cAsym", brain_mask="template")
    run = preprocessing_settings(template="MNI152NLin2009cAsym")
    warning = compare_preprocessing(trained, run)
    assert "BrainMask: model 'template', run None" in warning
    assert "Template:" not in warning
