"""TemplateFlow files, offline: never a download at run time, a clear error naming what is missing.

TemplateFlow reads ``TEMPLATEFLOW_HOME`` when its client is made, so this module imports it inside the
functions: the variable in force at the call decides which home is read, whatever was imported before.

>>> fetch_command("MNI152NLin2009cAsym", resolution=1, suffix="T1w", desc=None)
'python -c "import templateflow.api as tf; tf.get(\\'MNI152NLin2009cAsym\\', resolution=1, suffix=\\'T1w\\', desc=None)"'
"""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from pathlib import Path

import nibabel as nb
import numpy as np
from scipy import ndimage

from bids_app.utils.atomic import atomic_path

LOGGER = logging.getLogger("subseg")

#: The template nilearn ships (ICBM 2009a nonlinear symmetric, skull-stripped, 1 mm).
NILEARN_TEMPLATE = "MNI152NLin2009aSym"
_NILEARN_FILES = {
    "T1w": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "label-GM_probseg": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "label-WM_probseg": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}
#: nilearn's own brain-mask rule (``load_mni152_brain_mask``): template T1w above 0.2 of its maximum.
_NILEARN_MASK_THRESHOLD = 0.2


class TemplateNotFoundError(FileNotFoundError):
    """A TemplateFlow file this run needs is not in ``TEMPLATEFLOW_HOME``."""


def fetch_command(template: str, **entities) -> str:
    """The shell command that downloads one TemplateFlow file (to run where there is internet)."""
    arguments = ", ".join([repr(template)] + [f"{key}={value!r}" for key, value in entities.items()])
    return f'python -c "import templateflow.api as tf; tf.get({arguments})"'


def templateflow_home() -> Path:
    """The TemplateFlow home in force now (``TEMPLATEFLOW_HOME``, else TemplateFlow's default)."""
    from templateflow.conf.env import get_templateflow_home

    return Path(get_templateflow_home())


def get_template_file(template: str, *, resolution: int = 1, suffix: str = "T1w", desc=None, **entities) -> Path:
    """Return the path of one TemplateFlow file that is already on disk; never download.

    Raises :class:`TemplateNotFoundError` naming the file and the command that fetches it.
    """
    entities = {"resolution": resolution, "suffix": suffix, "desc": desc, **entities}
    home = templateflow_home()
    how = f"fetch it where there is internet with TEMPLATEFLOW_HOME={home} {fetch_command(template, **entities)}"
    if not home.is_dir() or not any(home.iterdir()):
        raise TemplateNotFoundError(f"TemplateFlow home {home} is missing or empty (set TEMPLATEFLOW_HOME); {how}")

    client = _client(home)
    listed = client.ls(template, extension=".nii.gz", **entities)
    if not listed:
        known = ", ".join(client.templates())
        raise TemplateNotFoundError(
            f"TemplateFlow in {home} knows no file for template {template!r} with {entities} "
            f"(templates known: {known})"
        )
    if len(listed) > 1:
        raise ValueError(f"TemplateFlow in {home} has several files for {template!r} with {entities}: {listed}")
    if not listed[0].is_file() or listed[0].stat().st_size == 0:
        raise TemplateNotFoundError(f"TemplateFlow file {listed[0]} is not on disk (no download at run time); {how}")
    found = Path(client.get(template, extension=".nii.gz", **entities))
    LOGGER.debug("TemplateFlow file %s", found)
    return found


@lru_cache(maxsize=4)
def _client(home: Path):
    """One TemplateFlow client per home: its file index takes seconds to build."""
    from templateflow.client import TemplateFlowClient

    return TemplateFlowClient(root=home)


def build_templateflow_home(home: str | os.PathLike) -> Path:
    """Make ``home`` a TemplateFlow home holding nilearn's packaged ICBM 2009a template, offline.

    TemplateFlow lays its skeleton (every template listed, no image data); nilearn's files then fill
    ``tpl-MNI152NLin2009aSym`` at 1 mm: ``T1w`` (skull-stripped), ``label-GM_probseg``,
    ``label-WM_probseg`` (0-1) and ``desc-brain_mask``. nilearn ships no brain mask: it is made with
    nilearn's rule (T1w above 0.2 of its maximum), holes filled so the ventricles are inside.
    """
    from templateflow.client import TemplateFlowClient

    home = Path(home)
    TemplateFlowClient(root=home).cache.ensure()
    spec = importlib.util.find_spec("nilearn")
    if spec is None:
        raise ModuleNotFoundError("nilearn is not installed: it ships the template build_templateflow_home copies")
    source = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    folder = home / f"tpl-{NILEARN_TEMPLATE}"
    for name, filename in _NILEARN_FILES.items():
        image = nb.load(source / filename)
        data = np.asanyarray(image.dataobj).astype(np.float32)
        if name != "T1w":
            data /= 255.0
        _write(nb.Nifti1Image(data, image.affine), folder / f"tpl-{NILEARN_TEMPLATE}_res-1_{name}.nii.gz")
        if name == "T1w":
            mask = ndimage.binary_fill_holes(data > _NILEARN_MASK_THRESHOLD * data.max())
            _write(
                nb.Nifti1Image(mask.astype(np.uint8), image.affine),
                folder / f"tpl-{NILEARN_TEMPLATE}_res-1_desc-brain_mask.nii.gz",
            )
    LOGGER.info("TemplateFlow home with %s from nilearn in %s", NILEARN_TEMPLATE, home)
    return home


def _write(image: nb.Nifti1Image, path: Path) -> None:
    image.set_qform(image.affine, code=4)
    image.set_sform(image.affine, code=4)
    with atomic_path(path) as tmp:
        image.to_filename(tmp)
