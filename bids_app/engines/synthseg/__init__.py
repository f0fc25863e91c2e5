"""SynthSeg (Billot et al.) in PyTorch, on the published Keras weights."""

from bids_app.engines.synthseg.engine import CONFORM, SynthSegEngine, load_network
from bids_app.engines.synthseg.weights import WeightsNotFoundError

__all__ = ["CONFORM", "SynthSegEngine", "WeightsNotFoundError", "load_network"]
