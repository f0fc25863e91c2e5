"""brainchop's pretrained MeshNet models (aparc+aseg 104 classes, mindgrab brain extraction) in PyTorch."""

from .engine import CONFORM, MeshNetEngine

__all__ = ["CONFORM", "MeshNetEngine"]
