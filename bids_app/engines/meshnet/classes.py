"""brainchop's class names (``colormap.json``) as FreeSurfer label numbers.

>>> class_labels(["BG", "ctx-lh-insula", "ctx-rh-insula", "Left-Thalamus-Proper*"], parc=False)
[0, 3, 42, 10]
>>> class_labels(["BG", "ctx-lh-insula", "ctx-rh-insula", "Left-Thalamus-Proper*"], parc=True)
[0, 1035, 2035, 10]
"""

from __future__ import annotations

import json
from pathlib import Path

from ...labels import LABELS, label_index

_CORTEX = {"L": label_index("Left-Cerebral-Cortex"), "R": label_index("Right-Cerebral-Cortex")}


def class_labels(names: list[str], parc: bool) -> list[int]:
    """FreeSurfer number of each class; without ``parc`` cortical parcels become Left/Right-Cerebral-Cortex."""
    numbers = []
    for name in names:
        number = label_index(name)
        if not parc and LABELS[number].name.startswith("ctx-"):
            number = _CORTEX[LABELS[number].hemi]
        numbers.append(number)
    return numbers


def read_class_names(colormap: Path) -> list[str]:
    """The ``labels`` list of a brainchop ``colormap.json``."""
    try:
        return list(json.loads(Path(colormap).read_text())["labels"])
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{colormap}: no class names ({error})") from None
