"""nnU-Net v2 engine: load a trained model folder once, segment T1w images in memory.

The model folder is the one ``nnUNetv2_train`` writes (``dataset.json``, ``plans.json``,
``fold_*/checkpoint_*.pth``). Its ``dataset.json`` label names must be FreeSurfer names: outputs are mapped
to FreeSurfer numbers through :func:`bids_app.labels.label_index`. The network is built from the plans and
handed to ``nnUNetPredictor`` directly (no trainer lookup by name, which would import timm).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import nibabel as nb
import numpy as np

from ..errors import SubsegError
from ..labels import flip_permutation, homologous_pairs, label_index
from ..utils.checksums import sha256_of
from ..utils.conform import conform, resample_like
from ..utils.device import select_device
from ..utils.hemisphere import PLANS_KEY, network_left_right_axis
from ..utils.preprocessing_settings import compare_preprocessing, preprocessing_settings
from ..utils.zero_background import for_mask_normalisation
from .base import RAS_GRID, CliOption, EngineSpec, Segmentation
from ..utils.checkpoints import CheckpointError, load_checkpoint

LOGGER = logging.getLogger("subseg")

#: How the participant workflow conforms a T1w before :meth:`NNUNetEngine.predict` (exact reorientation).
CONFORM = RAS_GRID

#: nnU-Net readers whose arrays are the NIfTI voxel array transposed to (z, y, x), spacing reversed to match.
#: ``NibabelIOWithReorient`` reorients to RAS first, which a RAS-conformed image already is.
_TRANSPOSING_READERS = ("SimpleITKIO", "NibabelIO", "NibabelIOWithReorient")


class ModelError(SubsegError, ValueError):
    """The model folder is not a usable nnU-Net model (one line naming the folder or file)."""


@dataclass(frozen=True)
class ModelFolder:
    """What a validated nnU-Net model folder holds."""

    path: Path
    folds: tuple[str, ...]
    checkpoints: tuple[Path, ...]
    dataset_json: dict
    plans: dict
    trainer: str
    plans_name: str
    configuration: str
    freesurfer_labels: tuple[int, ...]
    """FreeSurfer number of each output index (index 0 is background, 0)."""


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ModelError(f"{path.parent} is not an nnU-Net model folder: {path.name} is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ModelError(f"{path} is not valid JSON ({error})") from None


def _freesurfer_labels(dataset_json: dict, path: Path) -> tuple[int, ...]:
    labels = dataset_json.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ModelError(f"{path}: no 'labels' table")
    by_output = {}
    for name, value in labels.items():
        if not isinstance(value, int):
            raise ModelError(f"{path}: label {name!r} is a region ({value}); region-based models are not supported")
        if name == "ignore":
            continue
        try:
            by_output[value] = 0 if value == 0 else label_index(name)
        except KeyError:
            raise ModelError(f"{path}: label name {name!r} is not a FreeSurfer label name") from None
    if sorted(by_output) != list(range(len(by_output))):
        raise ModelError(f"{path}: label values {sorted(by_output)} are not consecutive from 0")
    return tuple(by_output[value] for value in range(len(by_output)))


def _resolve_folds(model_dir: Path, folds) -> tuple[str, ...]:
    if folds:
        return tuple(str(fold).removeprefix("fold_") for fold in folds)
    present = sorted(child.name.removeprefix("fold_") for child in model_dir.glob("fold_*") if child.is_dir())
    if not present:
        raise ModelError(f"{model_dir} is not an nnU-Net model folder: no fold_* folders")
    return tuple(present)


def validate_model_folder(model_dir, folds=None, checkpoint: str = "checkpoint_final.pth") -> ModelFolder:
    """Check ``model_dir`` without loading weights; raise :class:`ModelError` naming what is wrong.

    ``folds`` default to every ``fold_*`` folder present (``all`` or ``0`` .. ``4``).
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"nnU-Net model folder {model_dir} does not exist")
    plans = _read_json(model_dir / "plans.json")
    dataset_json = _read_json(model_dir / "dataset.json")
    folds = _resolve_folds(model_dir, folds)
    checkpoints = []
    for fold in folds:
        if not (model_dir / f"fold_{fold}").is_dir():
            raise ModelError(f"{model_dir}: fold {fold} is missing (no fold_{fold} folder)")
        path = model_dir / f"fold_{fold}" / checkpoint
        if not path.is_file():
            raise ModelError(f"{path}: checkpoint is missing")
        checkpoints.append(path)
    parts = model_dir.name.split("__")
    trainer, plans_name, configuration = parts if len(parts) == 3 else ("unknown", plans.get("plans_name"), None)
    configurations = plans.get("configurations", {})
    if configuration is None and len(configurations) == 1:
        configuration = next(iter(configurations))
    if configuration not in configurations:
        raise ModelError(f"{model_dir}: cannot tell the configuration (folder not named trainer__plans__configuration)")
    reader = plans.get("image_reader_writer")
    if reader not in _TRANSPOSING_READERS:
        raise ModelError(f"{model_dir / 'plans.json'}: image reader {reader!r} is not one of {_TRANSPOSING_READERS}")
    channels = dataset_json.get("channel_names", dataset_json.get("modality", {}))
    if len(channels) != 1:
        raise ModelError(f"{model_dir / 'dataset.json'}: {len(channels)} input channels; subseg gives one (T1w)")
    return ModelFolder(
        path=model_dir, folds=folds, checkpoints=tuple(checkpoints), dataset_json=dataset_json, plans=plans,
        trainer=trainer, plans_name=plans_name, configuration=configuration,
        freesurfer_labels=_freesurfer_labels(dataset_json, model_dir / "dataset.json"),
    )


def read_checkpoints(model: ModelFolder) -> list[dict]:
    """Every fold's checkpoint of ``model``, read as data (:func:`load_checkpoint`); one line if one is not."""
    try:
        return [load_checkpoint(path) for path in model.checkpoints]
    except CheckpointError as error:
        raise ModelError(str(error)) from None


@dataclass(frozen=True)
class NNUNetOptions:
    """``model``: the trained model folder; ``folds``: those to ensemble (None: every one present)."""

    model: str | None = None
    folds: tuple[str, ...] | None = None
    checkpoint: str = "checkpoint_final.pth"


SPEC = EngineSpec(
    name="nnunet", engine="bids_app.engines.nnunet:NNUNetEngine", options=NNUNetOptions,
    cli=(
        CliOption(("--model",), "model", {
            "metavar": "DIR",
            "help": "nnU-Net trained model folder (dataset.json, plans.json, fold_N/checkpoint_*.pth)"}),
        CliOption(("--folds",), "folds", {
            "nargs": "+", "metavar": "FOLD",
            "help": "participant: nnU-Net folds to ensemble (e.g. 0 1 2 3 4, or all); default: every fold in "
            "--model. train: the one fold to train, 'all' (every training subject, the default) or '0' "
            "(fold 0 of nnU-Net's seeded 5-fold split by subject; needs --train-size 5 or more)"}),
        CliOption(("--checkpoint",), "checkpoint", {
            "default": "checkpoint_final.pth", "help": "nnU-Net checkpoint file name"}),
    ),
    grid=CONFORM, mem_gb=4,
)


class NNUNetEngine:
    """A trained nnU-Net model, loaded once; :meth:`predict` segments one T1w in memory."""

    @classmethod
    def prepare(cls, options: NNUNetOptions, preprocessing: dict) -> NNUNetOptions:
        """Read the model folder and its checkpoints; warn when it was trained with other preprocessing."""
        model = validate_model_folder(options.model, options.folds, options.checkpoint)
        read_checkpoints(model)
        recorded = model.path / "preprocessing.json"
        warning = compare_preprocessing(json.loads(recorded.read_text()) if recorded.is_file() else None,
                                        preprocessing_settings(**preprocessing))
        if warning:
            LOGGER.warning(warning)
        return replace(options, model=str(options.model), folds=tuple(options.folds) if options.folds else None)

    @classmethod
    def model_labels(cls, options: NNUNetOptions) -> list[int]:
        """The FreeSurfer labels of the model's dataset.json."""
        return list(validate_model_folder(options.model, options.folds, options.checkpoint).freesurfer_labels[1:])

    @classmethod
    def from_options(cls, options: NNUNetOptions, *, device: str, omp_nthreads: int,
                     probabilities: bool) -> "NNUNetEngine":
        return cls(options.model, folds=list(options.folds) if options.folds else None,
                   checkpoint=options.checkpoint, device=device, omp_nthreads=omp_nthreads,
                   probabilities=probabilities)

    def __init__(self, model_dir, folds=None, checkpoint: str = "checkpoint_final.pth", device: str = "auto",
                 omp_nthreads: int | None = None, probabilities: bool = False):
        self.model = validate_model_folder(model_dir, folds, checkpoint)
        self.checkpoint = checkpoint
        self.probabilities = probabilities
        self.device = select_device(device, omp_nthreads)
        self._predictor = self._load()
        self._provenance = {
            "Engine": "nnunet",
            "Model": self.model.path.name,
            "ModelSHA256": sha256_of(self.model.path / "plans.json", self.model.path / "dataset.json",
                                    *self.model.checkpoints),
            "Trainer": self.trainer,
            "Plans": self.model.plans_name,
            "Configuration": self.model.configuration,
            "Folds": list(self.model.folds),
            "Checkpoint": checkpoint,
            "TestTimeMirroringAxes": list(self._predictor.allowed_mirroring_axes or []),
            "HemisphereAwareMirroring": self.hemisphere_aware,
            "Resampling": self.resampling,
            "Device": str(self.device),
            "Versions": {"nnunetv2": version("nnunetv2"), "torch": version("torch")},
        }

    def _load(self):
        from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
        from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
        from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

        plans_manager = PlansManager(self.model.plans)
        configuration_manager = plans_manager.get_configuration(self.model.configuration)
        label_manager = plans_manager.get_label_manager(self.model.dataset_json)
        network = nnUNetTrainer.build_network_architecture(
            plans_manager, configuration_manager, 1, label_manager.num_segmentation_heads,
            enable_deep_supervision=False,
        )
        parameters, mirror_axes, trainers = [], None, set()
        for path, checkpoint in zip(self.model.checkpoints, read_checkpoints(self.model)):
            try:
                network.load_state_dict(checkpoint["network_weights"])
            except RuntimeError:
                raise ModelError(f"{path}: weights do not fit the network in plans.json "
                                 f"(a trainer with its own architecture?)") from None
            parameters.append(checkpoint["network_weights"])
            mirror_axes = checkpoint.get("inference_allowed_mirroring_axes")
            trainers.add(checkpoint.get("trainer_name", self.model.trainer))
        self.trainer = ", ".join(sorted(trainers))
        lr_axis = network_left_right_axis(plans_manager.transpose_forward)
        self.normalises_inside_nonzero = (configuration_manager.normalization_schemes[0] == "ZScoreNormalization"
                                          and bool(configuration_manager.use_mask_for_norm[0]))
        self.resampling = _resampling(configuration_manager)
        self.hemisphere_aware = bool(self.model.plans.get(PLANS_KEY))
        if self.hemisphere_aware:
            predictor_class = hemisphere_aware_predictor(flip_permutation(self.model.freesurfer_labels), lr_axis)
        else:
            predictor_class = nnUNetPredictor
            if mirror_axes and lr_axis in mirror_axes and homologous_pairs(self.model.freesurfer_labels):
                LOGGER.warning("nnU-Net model %s mirrors along the left-right axis at test time: Left and Right "
                               "labels may be mixed (MIC-DKFZ/nnUNet#869)", self.model.path)
        with contextlib.redirect_stdout(io.StringIO()):  # nnU-Net prints a notice for CPU devices
            predictor = predictor_class(
                tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
                perform_everything_on_device=self.device.type == "cuda", device=self.device, verbose=False,
                allow_tqdm=False,
            )
        predictor.manual_initialization(network.to(self.device), plans_manager, configuration_manager, parameters,
                                        self.model.dataset_json, self.trainer,
                                        tuple(mirror_axes) if mirror_axes is not None else None)
        LOGGER.info("Loaded nnU-Net model %s (folds %s, %s)", self.model.path, ", ".join(self.model.folds),
                    self.checkpoint)
        return predictor

    def provenance(self) -> dict:
        """What goes into the sidecar JSON."""
        return dict(self._provenance)

    def predict(self, image: nb.Nifti1Image, reference=None) -> Segmentation:
        """Segment ``image``; labels (FreeSurfer numbers) come back on its exact grid and affine (``reference``
        unused).

        Any voxel order works: the image is reoriented (exactly, no resampling) to :data:`CONFORM`'s RAS, the
        orientation subseg's training data are written in, and the labels are reoriented back.
        """
        ras = conform(image, CONFORM["orientation"])
        array, properties = nnunet_input(ras)
        provenance = self.provenance()
        if self.normalises_inside_nonzero:
            array[0], provenance["ZeroBackground"] = for_mask_normalisation(array[0])
        result = self._predictor.predict_single_npy_array(array, properties, None, None, self.probabilities)
        segmentation, posteriors = result if self.probabilities else (result, None)
        lookup = np.asarray(self.model.freesurfer_labels, dtype=np.int16)
        labels = _on_grid_of(lookup[np.asarray(segmentation).transpose(2, 1, 0)], ras, image, np.int16)
        probabilities = {}
        if self.probabilities:
            for output, freesurfer in enumerate(self.model.freesurfer_labels):
                if output:
                    probabilities[freesurfer] = _on_grid_of(
                        np.asarray(posteriors[output], dtype=np.float32).transpose(2, 1, 0), ras, image, np.float32)
        return Segmentation(labels=labels, provenance=provenance, probabilities=probabilities)


def _resampling(configuration_manager) -> dict:
    """How nnU-Net itself takes an image to its plan's spacing and its posteriors back, for the sidecar."""
    data = configuration_manager.configuration.get("resampling_fn_data_kwargs", {})
    probabilities = configuration_manager.configuration.get("resampling_fn_probabilities_kwargs", {})
    return {
        "PlanSpacing": [float(s) for s in configuration_manager.spacing],
        "Intensities": f"spline of order {data.get('order', 3)} (order {data.get('order_z', 0)} along a "
                       f"far coarser axis), by nnU-Net, where the image's spacing differs",
        "ReturnToInputGrid": f"posteriors resampled with a spline of order {probabilities.get('order', 1)} "
                             f"by nnU-Net, then the argmax",
    }


def nnunet_input(image: nb.Nifti1Image) -> tuple[np.ndarray, dict]:
    """The (channel, z, y, x) array and properties nnU-Net's NIfTI readers make of ``image``.

    ``SimpleITKIO`` and ``NibabelIO`` both return the NIfTI voxel array transposed to (z, y, x), with the
    spacing reversed to match; a model trained on arrays read that way needs them the same way.
    """
    data = np.asanyarray(image.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(f"nnU-Net engine needs a 3D T1w, got an image of shape {data.shape}")
    array = np.ascontiguousarray(data.transpose(2, 1, 0))[None]
    spacing = [float(zoom) for zoom in image.header.get_zooms()[:3][::-1]]
    return array, {"spacing": spacing}


def hemisphere_aware_predictor(permutation, lr_axis: int):
    """An ``nnUNetPredictor`` class whose test-time mirror along ``lr_axis`` swaps homologous output channels.

    ``permutation[i]`` is the output channel of channel ``i``'s other-hemisphere homolog.
    """
    import itertools

    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    class HemisphereAwarePredictor(nnUNetPredictor):
        def _internal_maybe_mirror_and_predict(self, x: torch.Tensor) -> torch.Tensor:
            mirror_axes = self.allowed_mirroring_axes if self.use_mirroring else None
            prediction = self.network(x)
            if not mirror_axes:
                return prediction
            swap = torch.as_tensor(permutation, dtype=torch.long, device=prediction.device)
            spatial = [axis + 2 for axis in mirror_axes]
            combinations = [c for n in range(len(spatial)) for c in itertools.combinations(spatial, n + 1)]
            for axes in combinations:
                mirrored = torch.flip(self.network(torch.flip(x, axes)), axes)
                prediction += mirrored[:, swap] if lr_axis + 2 in axes else mirrored
            return prediction / (len(combinations) + 1)

    return HemisphereAwarePredictor


def _on_grid_of(data: np.ndarray, ras: nb.Nifti1Image, image: nb.Nifti1Image, dtype) -> nb.Nifti1Image:
    """``data`` on the RAS grid, put back on the exact grid, affine and header codes of ``image``."""
    result = resample_like(nb.Nifti1Image(data.astype(dtype), ras.affine), image, order=0)
    result.set_data_dtype(dtype)
    return result
