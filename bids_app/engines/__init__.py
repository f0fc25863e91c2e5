"""Segmentation engines: construct once, load a model, predict images in memory.

Each engine module exposes a class with ``predict(image) -> Segmentation`` that works on an image already
conformed for it (see :data:`CONFORM`) and returns labels in FreeSurfer numbers on that same grid.
"""
