# subseg: subcortical segmentation of T1-weighted MRI, as a BIDS App.
#
#   docker build -t subseg/subseg:0.1.0 .
#   docker run --rm --gpus all -v /data/bids:/data:ro -v /data/out:/out subseg/subseg:0.1.0 /data /out participant
#
# Build arguments (all optional):
#   BASE_IMAGE        image both stages start from; it must have (or apt-get install) Python >= 3.11.
#                     The default is a CUDA runtime image on Ubuntu 24.04 (Python 3.12); PyTorch's CUDA wheels
#                     bring their own CUDA libraries and only need the host's NVIDIA driver.
#   TORCH_SPEC        what pip installs for torch: a requirement ("torch==2.13.0") or a wheel file name. Wheels
#                     put in a folder named wheels/ at the root of the build context are found first, e.g.
#                     TORCH_SPEC=torch==2.13.0+cpu with the CPU wheel in wheels/ for a CPU-only image.
#   TORCH_INDEX_URL   a PyTorch wheel index for torch alone (e.g. https://download.pytorch.org/whl/cu126 to
#                     match an older driver); empty: PyPI.
#   SYNTHSEG_WEIGHTS  fetch (default): 'subseg models fetch synthseg' downloads SYNTHSEG_FILE and checks it.
#                     The default file, synthseg_1.0.h5, comes from the authors' GitHub repository (pinned commit)
#                     and is checked against its git object id there. The 2.0 files have no direct link (the
#                     authors share a folder): name a mirror with SYNTHSEG_URL (its published sha256 is checked),
#                     or use 'context': import the .h5 files put in weights/ of the build context (checked the
#                     same way), or 'skip': no SynthSeg weights (the synthseg engine then needs
#                     'subseg models import' at run time, into a writable SUBSEG_HOME).
#   TEMPLATEFLOW_TEMPLATES  TemplateFlow templates fetched at build time for --align-to (1 mm T1w and brain
#                     mask), space-separated; default MNI152NLin2009cAsym; empty: only the MNI152NLin2009aSym
#                     that nilearn ships (no download).
#   VERSION           must equal the version in pyproject.toml (the build fails otherwise): it names the image
#                     in the OCI labels and in the derivatives' GeneratedBy.Container.
#   IMAGE_NAME, VCS_REF, BUILD_DATE   recorded in labels and provenance.

ARG BASE_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

# ---------------------------------------------------------------------------------------------------------------
# The interpreter, shared by the build and the runtime stages (the virtualenv links to it).
FROM ${BASE_IMAGE} AS python-base
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN if ! command -v python3 >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "subseg's pinned packages need Python >= 3.11; this base has $(python3 --version 2>&1)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------------
# Build stage: a virtualenv with torch, the locked dependencies, subseg, TemplateFlow files and model weights.
FROM python-base AS builder
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
RUN if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv

# torch first, from a local wheel (wheels/ in the context) or an index; then held at that build.
COPY pyproject.toml wheel[s] /tmp/wheels/
RUN pip install --find-links /tmp/wheels ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH_SPEC" \
    && python -c "import torch; print('torch==' + torch.__version__)" > /tmp/torch-constraint.txt \
    && rm -rf /tmp/wheels

# Exact pins: the dependency closure of subseg, TemplateFlow and nilearn (offline templates) and h5py
# (SynthSeg's Keras weights), as tested together. pyproject.toml keeps lower bounds only.
RUN printf '%s\n' \
        acres==0.5.0 acvl-utils==0.2.6 annotated-types==0.8.0 anyio==4.16.0 argparse==1.4.0 \
        batchgenerators==0.25.5 batchgeneratorsv2==0.3.6 bids-validator==1.14.7.post0 bidsschematools==2.0.1 \
        blosc2==4.14.1 certifi==2026.10.19.post1 charset-normalizer==3.5.3 ci-info==0.4.0 click==8.5.1 \
        cloudpickle==3.1.3 connected-components-3d==4.1.1 contourpy==1.3.3 cycler==0.12.1 docopt==0.6.2 \
        dynamic-network-architectures==0.4.4 einops==0.8.2 etelemetry==0.3.1 filelock==4.3.1 fonttools==4.68.0 \
        formulaic==1.2.2 frozendict==2.5.1 fsspec==2026.9.0 future==1.0.0 graphviz==0.21 h11==0.16.0 \
        h2==4.4.1 h5py==3.14.0 hf-xet==1.8.0 hpack==4.2.0 httpcore==1.0.9 httpcore2==2.16.2 httpx==0.28.1 \
        httpx2==2.16.2 hyperframe==6.1.0 \
        huggingface-hub==2.4.0 idna==3.20 imagecodecs==2026.3.6 imageio==2.38.1 importlib-resources==7.1.0 \
        interface-meta==2.0.1 jinja2==3.1.6 joblib==1.6.0 kiwisolver==1.5.1 lazy-loader==0.6 linecache2==1.0.0 llvmlite==0.50.0 \
        looseversion==1.3.0 lxml==6.1.3 markdown-it-py==4.3.0 markupsafe==3.0.4 matplotlib==3.11.2 mdurl==0.1.2 \
        mpmath==1.3.0 msgpack==1.2.4 narwhals==2.29.0 ndindex==1.10.1 networkx==3.6.1 nibabel==5.4.2 \
        nilearn==0.14.1 nipype==1.11.0 nnunetv2==2.8.1 num2words==0.5.14 numba==0.68.1 numexpr==2.14.2 numpy==2.4.6 \
        packaging==26.4 pandas==3.1.1 pathlib-abc==0.5.2 pillow==13.0.0 platformdirs==4.14.8 prov==3.2.3 \
        puremagic==1.30 pybids==0.22.0 pydantic==2.14.4 pydantic-core==2.50.5 pydot==4.0.1 pygments==2.21.0 \
        pyparsing==3.3.3 python-dateutil==4.0.0 pyyaml==6.0.4 rdflib==7.6.0 requests==2.34.2 rich==15.0.0 \
        safetensors==0.8.0 scikit-image==0.26.0 scikit-learn==1.9.1 scipy==1.17.1 seaborn==0.13.2 \
        setuptools==84.2.1 simpleitk==2.5.7 simplejson==4.3.0 six==1.17.0 sqlalchemy==2.1.9 sympy==1.14.0 \
        templateflow==25.1.2 threadpoolctl==3.8.0 tifffile==2026.3.3 timm==1.0.22 torchvision==0.28.0 \
        tqdm==4.70.1 traceback2==1.4.0 traits==7.3.0 truststore==0.10.5 typing-extensions==4.16.0 \
        typing-inspection==0.4.5 tzdata==2026.6 unittest2==1.1.0 universal-pathlib==0.3.10 urllib3==2.8.0 \
        wrapt==2.5.2 yacs==0.1.8 \
        > /tmp/requirements.lock \
    && pip install -c /tmp/torch-constraint.txt -r /tmp/requirements.lock

# subseg itself (no dependency resolution: everything it needs is above), checked against VERSION.
ARG VERSION=0.1.0
COPY pyproject.toml README.md /src/
COPY bids_app /src/bids_app
RUN pip install --no-deps --no-build-isolation /src \
    && installed="$(python -c 'from importlib.metadata import version; print(version("subseg"))')" \
    && { [ "$installed" = "$VERSION" ] \
         || { echo "pyproject.toml says subseg $installed but VERSION=$VERSION: pass --build-arg VERSION=$installed" >&2; exit 1; }; } \
    && pip check \
    && rm -rf /src
# The group level's compiled kernels (numba), compiled once here and cached beside the package: a run as
# root on a CPU like the builder's starts without compiling them (others compile them once per process).
RUN python -c "import numpy as np; from bids_app.metrics.structures import compare_label_maps; \
maps = np.zeros((2, 30, 9, 9), np.int32); maps[0, 2:6, 2:6, 2:6] = 17; maps[1, 20:24, 2:6, 2:6] = 17; \
compare_label_maps(maps[0], maps[1], (1.0, 1.0, 1.0), [17])"

# TemplateFlow home, offline: the skeleton plus nilearn's packaged MNI152NLin2009aSym at 1 mm.
ENV TEMPLATEFLOW_HOME=/opt/templateflow \
    TEMPLATEFLOW_AUTOUPDATE=0 \
    SUBSEG_HOME=/opt/subseg \
    NIPYPE_NO_ET=1
RUN python -c "from bids_app.utils.templates import build_templateflow_home as b; b('$TEMPLATEFLOW_HOME')"
# ... and the templates --align-to may name, fetched now (1 mm T1w and brain mask), checked the way a run looks.
ARG TEMPLATEFLOW_TEMPLATES="MNI152NLin2009cAsym"
RUN for template in $TEMPLATEFLOW_TEMPLATES; do \
        python -c "import sys, templateflow.api as tf; \
from bids_app.utils.templates import get_template_file; \
[tf.get(sys.argv[1], resolution=1, suffix=s, desc=d, extension='.nii.gz') for s, d in (('T1w', None), ('mask', 'brain'))]; \
get_template_file(sys.argv[1], resolution=1, suffix='T1w', desc=None); \
get_template_file(sys.argv[1], resolution=1, suffix='mask', desc='brain')" "$template" || exit 1; \
    done

# SynthSeg weights into $SUBSEG_HOME/models/synthseg (where subseg looks by default), checked against the
# published size, sha256 or git object id by 'subseg models' itself.
ARG SYNTHSEG_WEIGHTS=fetch
ARG SYNTHSEG_FILE=synthseg_1.0.h5
ARG SYNTHSEG_URL=""
COPY pyproject.toml weight[s] /tmp/weights/
RUN case "$SYNTHSEG_WEIGHTS" in \
      skip) echo "SynthSeg weights not included (SYNTHSEG_WEIGHTS=skip)";; \
      fetch) \
        subseg models fetch synthseg --file "$SYNTHSEG_FILE" ${SYNTHSEG_URL:+--url "$SYNTHSEG_URL"} \
        || { echo "SynthSeg weights: no download (above). Build with --build-arg SYNTHSEG_URL=<a mirror of" \
                  "$SYNTHSEG_FILE>, or put the .h5 files in weights/ of the build context and build with" \
                  "SYNTHSEG_WEIGHTS=context, or SYNTHSEG_WEIGHTS=skip" >&2; exit 1; };; \
      context) \
        set -- /tmp/weights/*.h5 \
        && [ -f "$1" ] || { echo "SYNTHSEG_WEIGHTS=context: no .h5 file in weights/ of the build context" >&2; exit 1; }; \
        for file in "$@"; do subseg models import "$file" || exit 1; done;; \
      *) echo "SYNTHSEG_WEIGHTS must be fetch, context or skip, not '$SYNTHSEG_WEIGHTS'" >&2; exit 1;; \
    esac \
    && rm -rf /tmp/weights \
    && mkdir -p "$SUBSEG_HOME"

# No installer in the runtime image.
RUN python -m pip uninstall -y -q pip

# ---------------------------------------------------------------------------------------------------------------
# Runtime stage: the interpreter, the virtualenv and the data; no compilers, no pip, no apt lists.
FROM python-base AS runtime
ARG VERSION=0.1.0
ARG IMAGE_NAME=subseg/subseg
ARG VCS_REF=""
ARG BUILD_DATE=""

# A non-root user whose home any UID can write (docker --user, Singularity/Apptainer run as the caller).
RUN useradd --create-home --home-dir /home/subseg --shell /bin/bash --no-log-init subseg

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/templateflow /opt/templateflow
COPY --from=builder /opt/subseg /opt/subseg

# Every cache and config inside the image, nothing read from or written to the caller's $HOME, no network
# at start-up (nipype's version check off, TemplateFlow never updates).
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/subseg \
    SUBSEG_HOME=/opt/subseg \
    TEMPLATEFLOW_HOME=/opt/templateflow \
    TEMPLATEFLOW_AUTOUPDATE=0 \
    XDG_CACHE_HOME=/home/subseg/.cache \
    XDG_CONFIG_HOME=/home/subseg/.config \
    MPLCONFIGDIR=/home/subseg/.config/matplotlib \
    MPLBACKEND=Agg \
    NIPYPE_CONFIG_DIR=/home/subseg/.nipype \
    NIPYPE_NO_ET=1 \
    NO_ET=1 \
    TORCH_HOME=/home/subseg/.cache/torch \
    SUBSEG_CONTAINER_TYPE=docker \
    SUBSEG_CONTAINER_IMAGE=${IMAGE_NAME}:${VERSION}

# Matplotlib's font cache built once here, the home writable by all. (/opt is a+rX from the build's umask: a
# chmod -R there would copy the whole virtualenv into one more layer.)
RUN mkdir -p "$XDG_CACHE_HOME" "$MPLCONFIGDIR" "$NIPYPE_CONFIG_DIR" "$TORCH_HOME" \
    && python -c "import matplotlib.font_manager" \
    && chmod -R a+rwX /home/subseg \
    && subseg --version

USER subseg
WORKDIR /tmp
ENTRYPOINT ["subseg"]
CMD ["--help"]

LABEL org.opencontainers.image.title="subseg" \
      org.opencontainers.image.description="A BIDS App that segments subcortical structures in T1-weighted MRI and measures how good the segmentations are" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/subseg/subseg" \
      org.opencontainers.image.url="https://github.com/subseg/subseg" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.ref.name="${IMAGE_NAME}:${VERSION}"
