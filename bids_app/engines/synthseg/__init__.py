"""SynthSeg (Billot et al.) in PyTorch, on the published Keras weights.

The engine is imported on first use, so that the registry entry (:mod:`.options`) does not import torch.
"""

from bids_app.engines.synthseg.options import SPEC, SynthSegOptions
from bids_app.engines.synthseg.weights import WeightsNotFoundError

__all__ = ["SPEC", "SynthSegEngine", "SynthSegOptions", "WeightsNotFoundError", "load_network"]


def __getattr__(name):
    if name in ("SynthSegEngine", "load_network"):
        from bids_app.engines.synthseg import engine

        return getattr(engine, name)
    raise AttributeError(name)
