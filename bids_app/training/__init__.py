"""Train nnU-Net models on CPU from FreeSurfer-labelled T1w images (the base of the ``train`` level).

:func:`bids_app.training.train.train` writes the raw dataset, plans a small CPU configuration, preprocesses,
trains and returns a model folder laid out as ``nnUNetv2_train`` writes it. Fingerprinting and preprocessing
start worker processes with ``spawn``: a script that calls :func:`~bids_app.training.train.train` needs an
``if __name__ == "__main__":`` guard, and nipype nodes that run it should use a plugin that runs them in a
regular (non-daemonic) process.
"""
