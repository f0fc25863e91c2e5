"""MeshNet is handed the T1w's own grid, so its labels come back from posteriors where the grids differ."""

from __future__ import annotations

import pytest

from bids_app.engines.meshnet import MeshNetOptions
from bids_app.engines.nnunet import NNUNetOptions
from bids_app.workflows.segmentation import init_segmentation_wf


def _feeds_reference(workflow, engine) -> bool:
    graph = workflow._graph
    node = next(n for n in graph.nodes if n.name == f"segment_{engine}")
    return any(("t1w_valid", "reference") in data["connect"] for _, _, data in graph.in_edges(node, data=True))


def test_meshnet_gets_the_t1w_grid():
    assert _feeds_reference(init_segmentation_wf(engine="meshnet"), "meshnet")


@pytest.mark.parametrize("engine", ["meshnet", "nnunet"])
def test_aligned_or_other_engines_return_through_their_own_step(engine):
    options = MeshNetOptions() if engine == "meshnet" else NNUNetOptions(model=".")
    workflow = init_segmentation_wf(engine=engine, engine_options=options, aligned=engine == "meshnet")
    assert not _feeds_reference(workflow, engine)


def test_options_of_another_engine_are_refused_when_the_graph_is_built():
    with pytest.raises(TypeError, match="engine nnunet takes NNUNetOptions, not MeshNetOptions"):
        init_segmentation_wf(engine="nnunet", engine_options=MeshNetOptions())
