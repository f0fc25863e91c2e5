"""Scoring one image: the kernels a pool of workers inherits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from bids_app.metrics.subject import _folded
from bids_app.utils.label_counts import label_extents

#: In a fresh process: load the kernels, then score a pair laid out as NIfTI files load (Fortran order, int32)
#: with near and far structures, and print every compiled kernel that had to compile something new.
_NEW_SIGNATURES = """
import importlib, pkgutil
import numpy as np
from numba.core.registry import CPUDispatcher
import bids_app.metrics
from bids_app.metrics import subject
from bids_app.metrics.structures import compare_label_maps
from bids_app.metrics.symmetry import symmetry
from bids_app.metrics.volumes import volumes
from bids_app.utils.label_counts import label_counts

modules = [importlib.import_module(f"bids_app.metrics.{module.name}")
           for module in pkgutil.iter_modules(bids_app.metrics.__path__)]
modules.append(importlib.import_module("bids_app.utils.label_counts"))
kernels = {f"{module.__name__}.{name}": kernel for module in modules for name, kernel in vars(module).items()
           if isinstance(kernel, CPUDispatcher)}
subject.load_kernels()
before = {name: set(kernel.signatures) for name, kernel in kernels.items()}
reference = np.zeros((64, 60, 56), np.int32)
reference[10:30, 10:40, 10:30], reference[34:54, 10:40, 10:30], reference[20:40, 44:50, 30:50] = 17, 53, 4
prediction = np.roll(reference, 1, axis=0)
prediction[prediction == 4] = 0
prediction[5:25, 5:11, 36:52] = 4
reference, prediction = np.asfortranarray(reference), np.asfortranarray(prediction)
labels = [4, 17, 53]
compare_label_maps(reference, prediction, (1.0, 1.1, 1.3), labels)
symmetry(reference, prediction, labels)
volumes(label_counts(prediction), (1.0, 1.1, 1.3), labels)
print(sorted(name for name, kernel in kernels.items() if set(kernel.signatures) - before[name]))
"""


def test_load_kernels_leaves_nothing_for_the_workers_to_compile():
    result = subprocess.run([sys.executable, "-c", _NEW_SIGNATURES], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_folded_extents_are_those_of_the_folded_map():
    """The counts and boxes handed on after folding (to the volumes and the crops) are those of the folded
    map."""
    data = np.zeros((4, 3, 5), np.int32)
    data[0, 0, :4] = [3, 1035, 1035, 2035]
    data[2, 1, 1:] = [17, 11101, 42, 1035]
    data[3, 2, 4] = 2035
    record = []
    folded, extents = _folded(data, label_extents(data), [3, 42, 17], "prediction", {}, record)
    assert folded[0, 0, :4].tolist() == [3, 3, 3, 42] and folded[2, 1, 1:].tolist() == [17, 3, 42, 3]
    expected = label_extents(folded)
    assert np.array_equal(np.trim_zeros(extents.counts, "b"), expected.counts)
    assert extents.boxes(range(20000)) == expected.boxes(range(20000))
    assert {row["label"] for row in record} == {1035, 2035, 11101}
