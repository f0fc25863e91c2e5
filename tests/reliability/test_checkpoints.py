"""Model files are data, not code: nnU-Net checkpoints load without running anything stored in them."""

from __future__ import annotations

import os

import pytest
import torch

from bids_app.utils.checkpoints import CheckpointError, allowed_globals, load_checkpoint


class _Payload:
    """Unpickles as a call to ``os.system``: what a crafted ``checkpoint_final.pth`` can hide."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _crafted_checkpoint(folder, marker) -> os.PathLike:
    path = folder / "checkpoint_final.pth"
    torch.save({"network_weights": {"weight": torch.zeros(2)}, "trainer_name": _Payload(f"touch {marker}")}, path)
    return path


def test_crafted_checkpoint_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    path = _crafted_checkpoint(tmp_path, marker)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "refused" in message and "system" in message
    assert not marker.exists()
    # The payload is live: the unsafe loader this replaces runs it.
    torch.load(path, map_location="cpu", weights_only=False)
    assert marker.exists()


@pytest.mark.slow
def test_crafted_checkpoint_in_a_model_folder_stops_the_cli_with_one_line(tiny_nnunet_model, sample_bids, tmp_path):
    """A model folder whose checkpoint hides a payload: one line, exit 1, nothing run, no image segmented."""
    import shutil
    import subprocess
    import sys

    model = tmp_path / tiny_nnunet_model.name
    shutil.copytree(tiny_nnunet_model, model)
    marker = tmp_path / "payload-ran"
    _crafted_checkpoint(model / "fold_all", marker)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "bids_app", sample_bids, out, "participant", "--engine", "nnunet",
                             "--model", model, "--participant-label", "03", "-w", tmp_path / "work"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "refused" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
    assert not list(out.glob("sub-*/anat/*_dseg.nii.gz"))


@pytest.mark.slow
def test_real_nnunet_checkpoint_loads_with_the_allow_list(tiny_nnunet_model):
    """Every type a checkpoint written by nnU-Net's trainer holds is on the allow-list, and nothing more is needed."""
    path = tiny_nnunet_model / "fold_all" / "checkpoint_final.pth"
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert needed == {"numpy.dtype", "numpy._core.multiarray.scalar"} and needed <= {
        f"{item.__module__}.{item.__name__}" for item in allowed_globals()}
    checkpoint = load_checkpoint(path)
    assert checkpoint["trainer_name"] == "nnUNetTrainerSubsegCPU"
    assert checkpoint["network_weights"] and all(isinstance(value, torch.Tensor)
                                                 for value in checkpoint["network_weights"].values())
    assert {"optimizer_state", "logging", "init_args", "current_epoch"} <= set(checkpoint)
