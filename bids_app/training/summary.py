"""What nnU-Net logged per epoch (losses, pseudo-Dice, learning rate, time), read from its checkpoint."""

from __future__ import annotations

import math
from pathlib import Path


def _number(value):
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def training_record(checkpoint_file: Path, label_names: list[str]) -> dict:
    """The trainer class and one dict per epoch from the ``logging`` nnU-Net stores in a checkpoint.

    ``label_names`` name nnU-Net's foreground outputs 1, 2, ... (its per-label pseudo-Dice order).
    """
    from ..utils.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_file)
    return {"trainer_class": checkpoint.get("trainer_name"),
            "epochs": epoch_log(checkpoint.get("logging") or {}, label_names)}


def epoch_log(logged: dict, label_names: list[str]) -> list[dict]:
    """One dict per epoch of nnU-Net's logger state (losses, pseudo-Dice, learning rate, seconds).

    >>> epoch_log({"train_losses": [0.5], "mean_fg_dice": [0.25], "dice_per_class_or_region": [[0.2, 0.3]],
    ...            "epoch_start_timestamps": [10.0], "epoch_end_timestamps": [12.5]}, ["A", "B"])
    [{'epoch': 0, 'train_loss': 0.5, 'pseudo_dice': 0.25, 'pseudo_dice_per_label': {'A': 0.2, 'B': 0.3}, 'seconds': 2.5}]
    """
    epochs = []
    for epoch, loss in enumerate(logged.get("train_losses", [])):
        entry = {"epoch": epoch, "train_loss": _number(loss)}
        for key, name in (("val_losses", "val_loss"), ("mean_fg_dice", "pseudo_dice"), ("lrs", "learning_rate")):
            if epoch < len(logged.get(key, [])):
                entry[name] = _number(logged[key][epoch])
        per_label = logged.get("dice_per_class_or_region", [])
        if epoch < len(per_label):
            entry["pseudo_dice_per_label"] = {name: _number(value) for name, value in zip(label_names,
                                                                                           per_label[epoch])}
        starts, ends = logged.get("epoch_start_timestamps", []), logged.get("epoch_end_timestamps", [])
        if epoch < min(len(starts), len(ends)):
            entry["seconds"] = _number(ends[epoch] - starts[epoch])
        epochs.append(entry)
    return epochs
