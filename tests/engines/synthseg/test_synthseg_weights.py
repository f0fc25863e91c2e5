"""Which SynthSeg weights file the engine takes when none is named."""

import pytest

from bids_app.engines.synthseg import weights


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSEG_HOME", str(tmp_path))
    folder = weights.cache_dir()
    folder.mkdir(parents=True)
    return folder


def test_default_prefers_2_0_then_1_0(cache):
    (cache / "synthseg_1.0.h5").write_bytes(b"1.0")
    assert weights.resolve() == cache / "synthseg_1.0.h5"
    (cache / "synthseg_2.0.h5").write_bytes(b"2.0")
    assert weights.resolve() == cache / "synthseg_2.0.h5"


def test_default_with_robust_is_the_robust_file(cache):
    (cache / "synthseg_2.0.h5").write_bytes(b"2.0")
    with pytest.raises(weights.WeightsNotFoundError, match="synthseg_robust_2.0.h5 not found"):
        weights.resolve(robust=True)


def test_empty_cache_says_how_to_get_weights(cache):
    with pytest.raises(weights.WeightsNotFoundError) as error:
        weights.resolve()
    message = str(error.value)
    assert "synthseg_2.0.h5 or synthseg_1.0.h5" in message and "subseg models fetch synthseg" in message
    assert "\n" not in message
