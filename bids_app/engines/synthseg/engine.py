"""``SynthSegEngine``: SynthSeg's inference in PyTorch on the published Keras weights."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import nibabel as nb
import numpy as np
import torch

from bids_app.engines.base import Segmentation
from bids_app.engines.synthseg import pipeline
from bids_app.engines.synthseg.convert import WeightsMismatchError, load_keras_weights, read_keras_h5
from bids_app.engines.synthseg.labels import (
    CORTEX,
    PARCELLATION_LABELS,
    SEGMENTATION_LABELS,
    topology_classes,
)
from bids_app.engines.synthseg.network import SynthSegNetwork
from bids_app.engines.synthseg.options import SynthSegOptions
from bids_app.engines.synthseg.qc import QCNetwork, qc_input, scores_by_group
from bids_app.engines.synthseg.weights import WeightsNotFoundError, cache_dir, how_to_get, resolve
from bids_app.utils.checksums import sha256_of
from bids_app.utils.conform import lies_on_lattice, resample_like
from bids_app.utils.device import select_device
from bids_app.utils.memory import keep_freed_memory
from bids_app.utils.mirror import left_right_axis, self_consistency
from bids_app.utils.soft_return import soft_labels

LOGGER = logging.getLogger("subseg")

#: The files ``parc`` and ``qc`` need, looked for beside the segmentation weights, then in the cache.
PARCELLATION_FILE = "synthseg_parc_2.0.h5"
QC_FILE = "synthseg_qc_2.0.h5"


def weights_version(path: str | Path, robust: bool = False) -> str:
    """SynthSeg version of a segmentation weights file, from the number of labels it outputs."""
    layer = "unet2_likelihood" if robust else "unet_likelihood"
    stored = read_keras_h5(path).get(layer, {})
    if "kernel" not in stored:
        raise WeightsMismatchError(f"{path}: no layer {layer}: not a SynthSeg{' robust' if robust else ''} file")
    n_labels = stored["kernel"].shape[-1]
    for version, labels in SEGMENTATION_LABELS.items():
        if len(labels) == n_labels:
            return version
    raise WeightsMismatchError(f"{path}: {layer} outputs {n_labels} labels, SynthSeg 1.0/2.0 output 32/33")


def load_network(weights: str | Path, robust: bool = False, parc_weights: str | Path | None = None,
                 flip: bool = True) -> SynthSegNetwork:
    """Build the network that matches ``weights`` and load them (and the parcellation weights, if given)."""
    network = SynthSegNetwork(weights_version(weights, robust), robust=robust, parc=parc_weights is not None,
                              flip=flip)
    load_keras_weights(network.segmentation_layers(), weights)
    if parc_weights is not None:
        load_keras_weights(network.parcellation.keras_layers(), parc_weights)
    return network.eval()


def load_qc_network(weights: str | Path) -> QCNetwork:
    """SynthSeg 2.0's quality-control network with the weights of ``weights``."""
    network = QCNetwork()
    load_keras_weights(network.keras_layers(), weights)
    return network.eval()


def companion_weights(weights: str | Path, name: str) -> Path:
    """The file ``name`` beside the segmentation ``weights``, else in the cache; one line on how to get it."""
    beside = Path(weights).parent / name
    try:
        return resolve(beside if beside.is_file() else name)
    except WeightsNotFoundError:
        raise WeightsNotFoundError(
            f"{name} not found beside {weights} or in {cache_dir()}: {how_to_get(name)}") from None


def flip_self_consistency(plain: torch.Tensor, mirrored: torch.Tensor, labels: np.ndarray, inside) -> dict:
    """``SelfConsistency`` of SynthSeg's own test-time flip: per-structure Dice between the argmax labels of
    its plain and its mirrored pass (:meth:`SynthSegNetwork.passes`), inside the unpadded ``inside`` box."""
    plain_labels, mirrored_labels = (labels[posteriors[0].argmax(0).cpu().numpy()][inside]
                                     for posteriors in (plain, mirrored))
    consistency = self_consistency(plain_labels, mirrored_labels)
    LOGGER.info("SynthSeg: plain and mirrored pass agree at Dice %s",
                ", ".join(f"{name} {dice:.2f}" for name, dice in consistency["Dice"].items()))
    return consistency


class SynthSegEngine:
    """Construct once (loads the weights), then ``predict`` images: FreeSurfer labels on the input's grid.

    ``weights`` is a file or a file name in the cache (``synthseg_2.0.h5``); ``robust`` expects the robust
    file; ``parc`` and ``qc`` look for ``synthseg_parc_2.0.h5`` and ``synthseg_qc_2.0.h5`` beside it or in the
    cache (``qc`` adds SynthSeg's quality scores to the provenance); ``fast`` skips the left-right flip and
    the per-structure connected components, as SynthSeg's ``--fast``. Whenever the flip runs, the agreement
    of its two passes goes into the provenance as ``SelfConsistency`` (as MeshNet's ``tta``).
    """

    @classmethod
    def prepare(cls, options: SynthSegOptions, preprocessing: dict) -> SynthSegOptions:
        """Find the weights (and the parcellation and QC files asked for): missing, one line now."""
        weights = resolve(options.synthseg_model, options.robust)
        for wanted, name in ((options.parc, PARCELLATION_FILE), (options.qc, QC_FILE)):
            if wanted:
                companion_weights(weights, name)
        return dataclasses.replace(options, synthseg_model=str(weights))

    @classmethod
    def model_labels(cls, options: SynthSegOptions) -> None:
        """Every structure."""
        return None

    @classmethod
    def from_options(cls, options: SynthSegOptions, *, device: str, omp_nthreads: int,
                     probabilities: bool) -> "SynthSegEngine":
        return cls(options.synthseg_model, device=device, omp_nthreads=omp_nthreads, robust=options.robust,
                   parc=options.parc, fast=options.fast, probabilities=probabilities, crop=options.crop,
                   qc=options.qc)

    def __init__(self, weights: str | os.PathLike, device: str = "auto", omp_nthreads: int | None = None,
                 robust: bool = False, parc: bool = False, fast: bool = False, probabilities: bool = False,
                 crop=None, qc: bool = False):
        self.weights = resolve(weights)
        self.parc_weights = companion_weights(self.weights, PARCELLATION_FILE) if parc else None
        self.qc_weights = companion_weights(self.weights, QC_FILE) if qc else None
        self.robust, self.parc, self.qc, self.probabilities, self.crop = robust, parc, qc, probabilities, crop
        self.fast = fast or robust  # SynthSeg's robust mode always runs with --fast
        self.device = select_device(device, omp_nthreads)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.network = load_network(self.weights, robust, self.parc_weights, flip=not self.fast).to(self.device)
        self.qc_network = load_qc_network(self.qc_weights).to(self.device) if qc else None
        self.labels = np.asarray(self.network.labels)
        self.version = weights_version(self.weights, robust)
        self.checksums = {path: sha256_of(path) for path in (self.weights, self.parc_weights, self.qc_weights) if path}

    def provenance(self) -> dict:
        """What goes into the sidecar JSON."""
        name = f"SynthSeg{'-robust' if self.robust else ''} {self.version}"
        provenance = {
            "Engine": "synthseg",
            "TestTimeFlip": self.network.flip,
            "Model": self.weights.name,
            "ModelSHA256": self.checksums[self.weights],
            "Version": f"{name} (PyTorch port of the published Keras weights)",
            "Device": str(self.device),
            "Options": {"robust": self.robust, "parc": self.parc, "fast": self.fast, "crop": self.crop,
                        "qc": self.qc},
        }
        if self.parc_weights is not None:
            provenance["ParcellationModel"] = self.parc_weights.name
            provenance["ParcellationModelSHA256"] = self.checksums[self.parc_weights]
        if self.qc_weights is not None:
            provenance["QualityControlModel"] = self.qc_weights.name
            provenance["QualityControlModelSHA256"] = self.checksums[self.qc_weights]
        return provenance

    def predict(self, image: nb.spatialimages.SpatialImage, reference=None) -> Segmentation:
        """Segment a T1w image; labels (and posteriors when asked for) on its own grid (``reference`` unused:
        the engine resamples internally and returns to ``image``'s grid)."""
        if not isinstance(image, nb.Nifti1Image):  # e.g. FreeSurfer's .mgz
            image = nb.Nifti1Image(np.asanyarray(image.dataobj), image.affine)
        grid = pipeline.network_grid(image)
        padded, inside, source = pipeline.fit_shape(pipeline.rescale(grid.get_fdata(dtype=np.float32)), self.crop)
        lr_axis = left_right_axis(grid.affine)
        tensor = torch.from_numpy(padded)[None, None].to(self.device)
        provenance = self.provenance()
        with torch.inference_mode():
            plain, mirrored = self.network.passes(tensor, lr_axis)
            if mirrored is not None:
                provenance["SelfConsistency"] = flip_self_consistency(plain, mirrored, self.labels, inside)
            posteriors = self.network.average(plain, mirrored)
            del plain, mirrored
            parcellation = None if self.network.parcellation is None else self.network.parcellate(tensor, posteriors)
            if self.qc_network is not None:  # on the network's raw argmax, as SynthSeg
                groups = qc_input(posteriors[0].argmax(0), self.labels)
                provenance["QualityControl"] = scores_by_group(self.qc_network(groups))
        posteriors = posteriors[0].float().cpu().numpy()
        topology = None if self.fast else topology_classes(self.labels)
        window = (slice(None),) + inside
        if topology is not None:  # SynthSeg cleans before removing the padding in this mode
            posteriors = pipeline.clean_posteriors(posteriors, topology)[window]
        else:
            posteriors = pipeline.clean_posteriors(np.ascontiguousarray(posteriors[window]), None)
        labels = self.labels[posteriors.argmax(0)]
        if parcellation is not None:
            parcellation = parcellation[0].float().cpu().numpy()[window]
            labels = pipeline.parcellate(labels, parcellation, PARCELLATION_LABELS, CORTEX)
        soft = parcellation is None and not lies_on_lattice(grid, image)
        provenance["ReturnToInputGrid"] = ("posteriors resampled linearly, then argmax" if soft
                                           else "exact (the input's own voxel lattice)" if parcellation is None
                                           or lies_on_lattice(grid, image) else "nearest neighbour")
        if soft:  # as SynthSeg: posteriors back to the input's resolution, then the argmax
            box_affine = grid.affine.copy()
            box_affine[:3, 3] = grid.affine[:3, :3] @ [s.start for s in source] + grid.affine[:3, 3]
            maps = ((int(label), posteriors[channel]) for channel, label in enumerate(self.labels))
            native = nb.Nifti1Image(soft_labels(maps, box_affine, image, dtype=np.int32), image.affine, image.header)
            native.set_data_dtype(np.int32)
            native.header.set_slope_inter(1, 0)
            native.header.set_xyzt_units("mm")
        else:
            full = np.zeros(grid.shape, dtype=np.int32)
            full[source] = labels
            native = self._to_input(full, grid, image, order=0)
        segmentation = Segmentation(labels=native, provenance=provenance)
        if self.probabilities:
            for channel, label in enumerate(self.labels):
                outside = 1.0 if label == 0 else 0.0  # SynthSeg: background around a cropped patch
                posterior = np.full(grid.shape, outside, dtype=np.float32)
                posterior[source] = posteriors[channel]
                segmentation.probabilities[int(label)] = self._to_input(posterior, grid, image, order=1)
        return segmentation

    @staticmethod
    def _to_input(data, grid, image, order):
        """Resample network-grid ``data`` onto the input image's grid (exact when only the orientation differs)."""
        result = resample_like(nb.Nifti1Image(data, grid.affine), image, order=order)
        result.header.set_xyzt_units("mm")
        return result
