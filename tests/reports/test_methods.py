"""The methods paragraph says how the labels reached the T1w's grid, as the engine recorded it."""

from bids_app.reports.methods import methods_text

VERSIONS = {"subseg": "0.1.0", "torch": "2.13.0"}


def test_methods_follow_the_recorded_return_to_the_input_grid():
    soft, _ = methods_text({"Engine": "meshnet", "ReturnToInputGrid": "posteriors resampled linearly, then argmax"},
                           {}, VERSIONS)
    exact, _ = methods_text({"Engine": "meshnet", "ReturnToInputGrid": "exact (the input's own voxel lattice)"},
                            {}, VERSIONS)
    assert "posterior maps were resampled linearly" in soft and "nearest" not in soft
    assert "without interpolation" in exact and "nearest" not in exact
