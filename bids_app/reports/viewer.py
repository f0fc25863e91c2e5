"""The interactive viewer of the participant report: niivue (bundled) with the T1w and its label map embedded.

Both images are cropped to the head and stored compactly: the T1w windowed to uint8, the labels renumbered
0..N (uint8 while N < 256) with a colour table carrying the FreeSurfer names, each as gzip + base64 NIfTI.
Nothing is fetched when the report is opened.
"""

from __future__ import annotations

import base64
import gzip
import json
from importlib import resources

import nibabel as nb
import numpy as np

from ..labels import LABELS

#: Version of the bundled ``data/niivue/niivue.umd.js``.
NIIVUE_VERSION = "0.69.0"

_SCRIPT = """
(async function () {
  const data = JSON.parse(document.getElementById("viewer-data").textContent);
  const status = document.getElementById("viewer-status");
  const nv = new niivue.Niivue({backColor: [0, 0, 0, 1], show3Dcrosshair: true, crosshairColor: [1, 1, 0, 1],
                                 isOrientCube: true});
  window.subsegViewer = nv;
  await nv.attachTo("viewer-canvas");
  const t1w = await niivue.NVImage.loadFromBase64({base64: data.t1w, name: "T1w.nii.gz", cal_min: 0, cal_max: 255});
  const dseg = await niivue.NVImage.loadFromBase64({base64: data.dseg, name: "dseg.nii.gz"});
  dseg.setColormapLabel(data.colormap);
  dseg.opacity = 0.5;
  nv.addVolume(t1w);
  nv.addVolume(dseg);
  nv.setSliceType(nv.sliceTypeMultiplanar);
  nv.onLocationChange = function (location) {
    const value = Math.round(location.values[1].value);
    const name = data.colormap.labels[value] || "outside the label map";
    const mm = Array.from(location.mm.slice(0, 3)).map(function (v) { return v.toFixed(1); }).join(", ");
    status.textContent = name + "  (" + mm + " mm)";
  };
  nv.createOnLocationChange();
  document.getElementById("viewer-opacity").addEventListener("input", function (event) {
    nv.setOpacity(1, Number(event.target.value));
  });
  document.getElementById("viewer-view").addEventListener("change", function (event) {
    nv.setSliceType(Number(event.target.value));
  });
  document.body.dataset.viewer = "loaded";
})().catch(function (error) { console.error("viewer: " + error); });
"""

_MARKUP = """<div class="viewer">
<div class="viewer-controls">
<label>Segmentation opacity <input id="viewer-opacity" type="range" min="0" max="1" step="0.05" value="0.5"></label>
<label>View <select id="viewer-view"><option value="3">multiplanar</option><option value="1">coronal</option>
<option value="0">axial</option><option value="2">sagittal</option><option value="4">3D render</option></select></label>
<span>Under the cursor: <strong id="viewer-status">click a voxel</strong></span>
</div>
<div class="viewer-box"><canvas id="viewer-canvas"></canvas></div>
</div>
<script id="viewer-data" type="application/json">{data}</script>
<script>{library}</script>
<script>{script}</script>"""


def _nifti_base64(data: np.ndarray, affine: np.ndarray) -> str:
    image = nb.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm")
    return base64.b64encode(gzip.compress(image.to_bytes(), compresslevel=6)).decode("ascii")


def head_box(t1w: np.ndarray, labels: np.ndarray, margin: int = 2) -> tuple[slice, ...]:
    """The box holding every label and every voxel brighter than a tenth of the 99th percentile."""
    foreground = t1w > 0.1 * np.percentile(t1w, 99)
    where = np.argwhere(foreground | (labels > 0))
    if not len(where):
        return tuple(slice(None) for _ in t1w.shape)
    low, high = where.min(axis=0) - margin, where.max(axis=0) + margin + 1
    return tuple(slice(max(int(a), 0), min(int(b), n)) for a, b, n in zip(low, high, t1w.shape))


def viewer_images(t1w: nb.spatialimages.SpatialImage, dseg: nb.spatialimages.SpatialImage) -> dict:
    """``t1w`` and ``dseg`` (gzip + base64 NIfTI, head-cropped, compact types) and the niivue colour table."""
    image = np.asanyarray(t1w.dataobj).astype(np.float32)
    labels = np.asanyarray(dseg.dataobj).astype(np.int64)
    if image.shape[:3] != labels.shape[:3] or not np.allclose(t1w.affine, dseg.affine, atol=1e-3):
        raise ValueError("the T1w and its label map are not on the same grid")
    box = head_box(image, labels)
    affine = t1w.slicer[box].affine
    image, labels = image[box], labels[box]
    low, high = np.percentile(image[image > 0] if np.any(image > 0) else image, (0.5, 99.5))
    scaled = np.clip((image - low) / max(high - low, 1e-6) * 255, 0, 255).round().astype(np.uint8)
    present, compact = np.unique(labels, return_inverse=True)
    compact = compact.reshape(labels.shape).astype(np.uint8 if len(present) <= 256 else np.uint16)
    colours = [LABELS[int(i)].color if int(i) in LABELS else "#999999" for i in present]
    colormap = {
        "R": [int(c[1:3], 16) for c in colours], "G": [int(c[3:5], 16) for c in colours],
        "B": [int(c[5:7], 16) for c in colours], "A": [0 if i == 0 else 255 for i in present],
        "I": list(range(len(present))),
        "labels": [LABELS[int(i)].name if int(i) in LABELS else f"label {int(i)}" for i in present],
    }
    colormap["labels"][0] = "background" if present[0] == 0 else colormap["labels"][0]
    return {"t1w": _nifti_base64(scaled, affine), "dseg": _nifti_base64(compact, affine), "colormap": colormap}


def viewer_html(t1w: nb.spatialimages.SpatialImage, dseg: nb.spatialimages.SpatialImage) -> str:
    """The viewer's markup, its data and the niivue library, ready to place in the report's body."""
    library = resources.files("bids_app.data").joinpath("niivue", "niivue.umd.js").read_text()
    data = json.dumps(viewer_images(t1w, dseg)).replace("</", "<\\/")
    licence = resources.files("bids_app.data").joinpath("niivue", "LICENSE").read_text().replace("--", "- -")
    return (f"<!-- The viewer is niivue {NIIVUE_VERSION}:\n{licence}-->\n"
            + _MARKUP.format(data=data, library=library, script=_SCRIPT))
