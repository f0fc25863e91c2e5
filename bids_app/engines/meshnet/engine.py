"""The MeshNet engine: brainchop's aparc+aseg pipeline (mindgrab brain extraction, crop, 104-class MeshNet).

Steps, as brainchop runs them (``inference-logic.js``): the conformed 256^3 LIA volume as 0..255 integers,
min-max scaled to 0..1; mindgrab on the box of voxels above half the maximum (20 voxels of padding), argmax,
largest connected cluster = brain mask; the 104-class model on the box of the brain mask (no padding),
argmax, largest connected cluster; classes mapped to FreeSurfer numbers. Voxel axes go into the network in
NIfTI order (brainchop reads slices as z, y, x and transposes them back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import nibabel as nb
import numpy as np
import torch

from ...utils.checksums import sha256_of
from ...utils.conform import conform, lies_on_lattice, resample_like
from ...utils.device import select_device
from ...utils.memory import keep_freed_memory
from ...utils.mirror import add_unmirrored, left_right_axis, mirrored_groups, self_consistency
from ...utils.soft_return import soft_labels
from ...utils.spikes import spike_mask
from ..base import Segmentation
from . import inference
from .classes import class_labels, read_class_names
from .network import MeshNet
from .options import CONFORM, MeshNetOptions, packaged_model_folder
from .preprocess import bounding_box, largest_component, min_max, uint8_intensities
from .tfjs import load_meshnet

LOGGER = logging.getLogger("subseg")

#: Package folder holding each model (``model.json``, weights, ``colormap.json``).
SEGMENTATION_MODEL = "model21_104class"
BRAIN_MODEL = "mindgrab"
#: brainchop's settings for the two models (``brainchop-parameters.js``).
BRAIN_THRESHOLD = 0.5
BRAIN_CROP_PADDING = 20
SEGMENTATION_CROP_PADDING = 0
#: Where the packaged weights come from (see ``bids_app/data/meshnet/SOURCE.md``).
SOURCE = "https://github.com/neuroneural/brainchop/tree/4c87885f3a2a8835e260d521dcec922b58d91d41/public/models"


@dataclass
class PackagedModel:
    """A MeshNet read from the package, with what the provenance names."""

    name: str
    model_json: Path
    network: MeshNet
    classes: list[str]
    weights_file: str
    sha256: str


def load_packaged_model(name: str) -> PackagedModel:
    """Read ``bids_app/data/meshnet/<name>/``."""
    folder = packaged_model_folder(name)
    model_json = folder / "model.json"
    network = load_meshnet(model_json)
    classes = read_class_names(folder / "colormap.json")
    if len(classes) != network.n_classes:
        raise ValueError(f"{folder / 'colormap.json'}: {len(classes)} names for {network.n_classes} classes")
    weights = sorted(path for path in folder.glob("*.bin"))
    digest = sha256_of(*weights)
    return PackagedModel(name, model_json, network, classes, ",".join(path.name for path in weights), digest)


def is_conformed(image: nb.spatialimages.SpatialImage) -> bool:
    """Whether ``image`` already lies on the engine's grid (256^3, 1 mm, LIA, not oblique)."""
    if image.ndim != 3 or tuple(image.shape) != CONFORM["shape"]:
        return False
    lia = np.array([[-1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=float) * np.asarray(CONFORM["zooms"])
    return bool(np.allclose(image.affine[:3, :3], lia, atol=1e-3))


class MeshNetEngine:
    """brainchop's MeshNet aparc+aseg segmentation, in PyTorch.

    ``parc=True`` keeps the Desikan-Killiany cortical parcels (1001-1035, 2001-2035); otherwise they become
    Left/Right-Cerebral-Cortex (3/42). ``probabilities=True`` adds softmax posteriors per output label
    (summed over the classes merged into it; float32, one full volume per label: about 2.5 GB on a 256^3
    grid without ``parc``, 7 GB with it). ``tta=True`` also segments the head mirrored along its left-right
    axis (:mod:`bids_app.utils.mirror`), averages both passes' posteriors and records their agreement as
    ``SelfConsistency`` in the provenance.
    """

    def __init__(self, device="auto", omp_nthreads=None, parc=False, probabilities=False, tta=False):
        self.device = select_device(device, omp_nthreads)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.parc = bool(parc)
        self.probabilities = bool(probabilities)
        self.tta = bool(tta)
        self.segmenter = load_packaged_model(SEGMENTATION_MODEL)
        self.extractor = load_packaged_model(BRAIN_MODEL)
        for model in (self.segmenter, self.extractor):
            model.network.to(self.device)
        try:
            numbers = class_labels(self.segmenter.classes, self.parc)
        except KeyError as error:
            raise ValueError(f"meshnet/{SEGMENTATION_MODEL}/colormap.json: {error.args[0]}") from None
        self.output_labels = sorted(set(numbers))
        self._class_to_label = torch.tensor(numbers)
        self._class_to_output = torch.tensor([self.output_labels.index(number) for number in numbers])

    @classmethod
    def prepare(cls, options: MeshNetOptions, preprocessing: dict) -> MeshNetOptions:
        """Nothing to check up front: the models ship with the package."""
        return options

    @classmethod
    def model_labels(cls, options: MeshNetOptions) -> None:
        """Every structure."""
        return None

    @classmethod
    def from_options(cls, options: MeshNetOptions, *, device: str, omp_nthreads: int,
                     probabilities: bool) -> "MeshNetEngine":
        return cls(device=device, omp_nthreads=omp_nthreads, parc=options.parc, probabilities=probabilities,
                   tta=options.tta)

    def provenance(self) -> dict:
        """What goes into the sidecar JSON."""
        return {
            "Engine": "meshnet",
            "ModelSource": SOURCE,
            "Model": self.segmenter.name,
            "ModelWeights": self.segmenter.weights_file,
            "ModelSHA256": self.segmenter.sha256,
            "BrainExtractionModel": self.extractor.name,
            "BrainExtractionWeights": self.extractor.weights_file,
            "BrainExtractionSHA256": self.extractor.sha256,
            "Device": str(self.device),
            "Parc": self.parc,
            "TestTimeFlip": self.tta,
        }

    def predict(self, image: nb.spatialimages.SpatialImage, reference=None) -> Segmentation:
        """Segment a 3D T1w; labels, brain mask and posteriors come back on the grid of ``reference``.

        ``reference`` (by default ``image``) is the grid the outputs take. Where it is not the engine grid's
        voxel lattice (up to flips and permutations), labels are the argmax of the posteriors resampled
        linearly onto it (:func:`~bids_app.utils.soft_return.soft_labels`); elsewhere they are exact.
        """
        if len(image.shape) != 3:
            raise ValueError(f"{image.get_filename() or 'image'}: expected a 3D T1w, got shape {image.shape}")
        target = image if reference is None else reference
        conformed = image if is_conformed(image) else conform(image, **CONFORM)
        source = image.get_filename() or "image"
        intensities = np.asanyarray(conformed.dataobj)
        volume = min_max(uint8_intensities(intensities, source), source)
        brain = self._brain_mask(volume, spike_mask(intensities))
        soft = not lies_on_lattice(conformed, target)
        lr_axis = left_right_axis(conformed.affine)
        labels, box, posteriors, consistency = self._segment(volume, brain, self.probabilities or soft, lr_axis)
        grid = _on_grid(conformed, target)
        if soft:
            box_affine = conformed.affine.copy()
            box_affine[:3, 3] = conformed.affine[:3, :3] @ [s.start for s in box] + conformed.affine[:3, 3]
            present = set(np.unique(labels).tolist())
            maps = ((label, posteriors[index]) for index, label in enumerate(self.output_labels) if label in present)
            labels_image = _image_on(largest_component(soft_labels(maps, box_affine, target)), target)
        else:
            labels_image = grid(labels, 0)
        provenance = {**self.provenance(), "ReturnToInputGrid": "posteriors resampled linearly, then argmax" if soft
                      else "exact (the input's own voxel lattice)"}
        if consistency is not None:
            provenance["SelfConsistency"] = consistency
        segmentation = Segmentation(
            labels=labels_image, provenance=provenance, masks={"brain": grid(brain.astype(np.uint8), 0)}
        )
        if self.probabilities:
            segmentation.probabilities = {
                label: grid(_uncrop(posteriors[index], box, volume.shape, outside=float(label == 0)), 1)
                for index, label in enumerate(self.output_labels)
            }
        return segmentation

    def _brain_mask(self, volume: np.ndarray, spikes: np.ndarray) -> np.ndarray:
        """mindgrab's brain mask, run in the box of the bright voxels (``spikes`` left out: 20 spikes at the int16
        extremes would widen it to the whole grid, doubling time and memory)."""
        box = bounding_box((volume > BRAIN_THRESHOLD) & ~spikes, BRAIN_CROP_PADDING)
        classes, _ = inference.classify(self.extractor.network, self._tensor(volume[box]))
        mask = np.zeros(volume.shape, bool)
        mask[box] = classes.cpu().numpy() != 0
        if not mask.any():
            raise ValueError("mindgrab found no brain in the image")
        mask = largest_component(mask)
        LOGGER.info("MeshNet: mindgrab brain mask of %d voxels", int(mask.sum()))
        return mask

    def _segment(self, volume: np.ndarray, brain: np.ndarray, with_posteriors: bool, lr_axis: int):
        """Labels on the whole grid, the crop box, the posteriors (per output label) inside the box, and the
        self-consistency of the test-time flip (None without ``tta``)."""
        box = bounding_box(brain, SEGMENTATION_CROP_PADDING)
        groups = self._class_to_output if with_posteriors or self.tta else None
        classes, posteriors = inference.classify(self.segmenter.network, self._tensor(volume[box]), groups)
        labels = np.zeros(volume.shape, np.int16)
        labels[box] = self._class_to_label.to(classes.device)[classes].cpu().numpy()
        LOGGER.info("MeshNet: labelled a %s box", "x".join(str(s.stop - s.start) for s in box))
        posteriors = None if posteriors is None else posteriors.cpu().numpy()
        consistency = None
        if self.tta:
            posteriors, consistency = self._average_with_mirrored(volume[box], labels[box], posteriors, lr_axis)
            labels[box] = np.asarray(self.output_labels, np.int16)[posteriors.argmax(0)]
        return largest_component(labels), box, posteriors, consistency

    def _average_with_mirrored(self, volume: np.ndarray, plain: np.ndarray, posteriors: np.ndarray, lr_axis: int):
        """Segment ``volume`` mirrored along ``lr_axis``; the mean of both passes' posteriors (in place of
        ``posteriors``) and the Dice between the plain labels and the mirrored pass's labels.

        The mirrored pass's posteriors are added slab by slab as they come, never held whole.
        """
        groups = torch.from_numpy(mirrored_groups(self._class_to_output.numpy(), self.output_labels))
        numbers = np.asarray(self.output_labels, np.int16)
        mirrored_labels = np.empty(volume.shape, np.int16)
        mirrored_volume = self._tensor(np.flip(volume, lr_axis))
        for start, piece in inference.posterior_slabs(self.segmenter.network, mirrored_volume, groups):
            piece = piece.cpu().numpy()
            planes = add_unmirrored(posteriors, piece, lr_axis, start)
            mirrored_labels[planes] = np.flip(numbers[piece.argmax(0)], lr_axis)
        consistency = self_consistency(plain, mirrored_labels)
        LOGGER.info("MeshNet: test-time flip, plain and mirrored pass agree at Dice %s",
                    ", ".join(f"{name} {dice:.2f}" for name, dice in consistency["Dice"].items()))
        posteriors *= 0.5
        return posteriors, consistency

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self.device)


def _uncrop(values: np.ndarray, box: tuple[slice, ...], shape, outside: float) -> np.ndarray:
    full = np.full(shape, outside, np.float32)
    full[box] = values
    return full


def _image_on(array: np.ndarray, reference: nb.spatialimages.SpatialImage) -> nb.Nifti1Image:
    """``array`` as an image with the grid and affine of ``reference``."""
    result = nb.Nifti1Image(array, reference.affine)
    result.set_data_dtype(array.dtype)
    result.set_qform(reference.affine, code=1)
    result.set_sform(reference.affine, code=1)
    return result


def _on_grid(conformed: nb.spatialimages.SpatialImage, image: nb.spatialimages.SpatialImage):
    """A function that wraps an array of the conformed grid as an image on the grid of ``image``."""

    def wrap(array: np.ndarray, order: int) -> nb.Nifti1Image:
        result = _image_on(array, conformed)
        if conformed is image:
            return result
        return resample_like(result, image, order=order)

    return wrap
