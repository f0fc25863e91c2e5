"""SynthSeg's own test-time flip scored as SelfConsistency, as MeshNet's ``--tta``: Dice of its two passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bids_app.engines.synthseg import SynthSegEngine, pipeline
from bids_app.labels import LABELS, SUBCORTICAL
from bids_app.utils.mirror import SELF_CONSISTENCY_THRESHOLD, left_right_axis


@pytest.fixture(scope="module")
def engine(random_weights):
    return SynthSegEngine(random_weights, device="cpu", omp_nthreads=2, crop=64)


def _pass_labels(engine: SynthSegEngine, image) -> tuple[np.ndarray, np.ndarray]:
    """The argmax labels of the plain and of the mirrored pass (mirrored back), recomputed from the network
    on the image as the engine prepares it."""
    grid = pipeline.network_grid(image)
    padded, inside, _ = pipeline.fit_shape(pipeline.rescale(grid.get_fdata(dtype=np.float32)), engine.crop)
    with torch.inference_mode():
        passes = engine.network.passes(torch.from_numpy(padded)[None, None], left_right_axis(grid.affine))
    return tuple(engine.labels[posteriors[0].argmax(0).numpy()][inside] for posteriors in passes)


def test_self_consistency_is_the_dice_of_the_two_passes(engine, t1w_64):
    provenance = engine.predict(t1w_64).provenance
    plain, mirrored = _pass_labels(engine, t1w_64)
    expected = {}
    for label in SUBCORTICAL:
        a, b = plain == label, mirrored == label
        if a.any() or b.any():
            expected[LABELS[label].name] = 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())
    assert expected, "the random-weight network should draw some subcortical labels"
    assert not np.array_equal(plain, mirrored), "two passes of a random network should differ"
    field = provenance["SelfConsistency"]
    assert provenance["TestTimeFlip"] is True
    assert field["Dice"] == pytest.approx(expected, abs=1e-4)
    assert field["Threshold"] == SELF_CONSISTENCY_THRESHOLD
    assert field["Flagged"] == [name for name, dice in expected.items() if dice < SELF_CONSISTENCY_THRESHOLD]


def test_the_two_passes_average_to_the_network_output(engine):
    image = torch.rand((1, 1, 32, 32, 32), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        posteriors, _ = engine.network(image, 1)
        plain, mirrored = engine.network.passes(image, 1)
    assert torch.equal(engine.network.average(plain, mirrored), posteriors)
    assert not torch.equal(plain, mirrored)


def test_no_flip_no_self_consistency(random_weights, t1w_64):
    provenance = SynthSegEngine(random_weights, device="cpu", omp_nthreads=2, crop=64, fast=True).predict(
        t1w_64).provenance
    assert provenance["TestTimeFlip"] is False and "SelfConsistency" not in provenance
