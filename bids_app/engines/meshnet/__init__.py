"""brainchop's pretrained MeshNet models (aparc+aseg 104 classes, mindgrab brain extraction) in PyTorch.

The engine is imported on first use, so that the registry entry (:mod:`.options`) does not import torch.
"""

from .options import CONFORM, SPEC, MeshNetOptions

__all__ = ["CONFORM", "SPEC", "MeshNetEngine", "MeshNetOptions"]


def __getattr__(name):
    if name == "MeshNetEngine":
        from .engine import MeshNetEngine

        return MeshNetEngine
    raise AttributeError(name)
