"""N4 bias-field correction through SimpleITK: fitted on a shrunk image, applied at full resolution."""

from __future__ import annotations

import logging
import math
import os

import nibabel as nb
import numpy as np
import SimpleITK as sitk
from nipype.interfaces.base import BaseInterfaceInputSpec, File, SimpleInterface, TraitedSpec, traits

from bids_app.utils.itk_images import from_sitk, to_sitk

LOGGER = logging.getLogger("subseg")
_SPLINE_ORDER = 3


def correct_bias(
    image: nb.spatialimages.SpatialImage,
    *,
    shrink_factor: int = 4,
    iterations=(20, 20, 20, 20),
    convergence_threshold: float = 1e-7,
    spline_distance: float = 200.0,
    nthreads: int = 1,
):
    """Return the N4-corrected ``image`` (float32, same grid) and a dict describing what was done.

    N4 fits the field on the image shrunk by ``shrink_factor`` inside a foreground mask (Otsu); the
    B-spline field is then evaluated on the full-resolution grid and divided out. ``spline_distance``
    (mm) sets the control-point mesh as ANTs' ``-b [200]`` does. Four fitting levels of 20 iterations
    (nipreps use 50 each) keep N4 plus alignment under a minute for a 1 mm head on two cores.
    """
    itk = sitk.Clamp(to_sitk(image), lowerBound=0.0)
    foreground = sitk.OtsuThreshold(itk, 0, 1, 200) & sitk.Cast(itk > 0, sitk.sitkUInt8)
    shrunk = sitk.Shrink(itk, [shrink_factor] * 3)
    shrunk_mask = sitk.Shrink(foreground, [shrink_factor] * 3)
    extent = np.asarray(shrunk.GetSize()) * np.asarray(shrunk.GetSpacing())
    control_points = [max(math.ceil(length / spline_distance), 1) + _SPLINE_ORDER for length in extent]

    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(n) for n in iterations])
    n4.SetConvergenceThreshold(convergence_threshold)
    n4.SetNumberOfControlPoints(control_points)
    n4.SetSplineOrder(_SPLINE_ORDER)
    n4.SetNumberOfThreads(nthreads)
    n4.Execute(shrunk, shrunk_mask)
    field = sitk.Exp(n4.GetLogBiasFieldAsImage(itk))
    corrected = from_sitk(sitk.Cast(itk / field, sitk.sitkFloat32), image, dtype=np.float32)
    LOGGER.info("N4 converged to %.2e after %d iterations", n4.GetCurrentConvergenceMeasurement(), n4.GetElapsedIterations())
    provenance = {
        "BiasCorrection": "N4",
        "BiasCorrectionParameters": {
            "Software": f"SimpleITK {sitk.Version.VersionString()}",
            "ShrinkFactor": int(shrink_factor),
            "Iterations": [int(n) for n in iterations],
            "ConvergenceThreshold": float(convergence_threshold),
            "SplineDistance": float(spline_distance),
            "Mask": "Otsu foreground",
        }
    }
    return corrected, provenance


class N4BiasCorrectionInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="T1w image")
    shrink_factor = traits.Int(4, usedefault=True, desc="N4 fits the field on the image shrunk by this factor")
    spline_distance = traits.Float(200.0, usedefault=True, desc="B-spline control-point spacing (mm)")
    omp_nthreads = traits.Int(1, usedefault=True, desc="SimpleITK threads")


class N4BiasCorrectionOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="bias-corrected T1w (float32) on the grid of in_file")
    provenance = traits.Dict(desc="what was done, for the sidecar")


class N4BiasCorrection(SimpleInterface):
    """Correct the intensity non-uniformity of a T1w with N4."""

    input_spec = N4BiasCorrectionInputSpec
    output_spec = N4BiasCorrectionOutputSpec

    def _run_interface(self, runtime):
        corrected, provenance = correct_bias(
            nb.load(self.inputs.in_file),
            shrink_factor=self.inputs.shrink_factor,
            spline_distance=self.inputs.spline_distance,
            nthreads=self.inputs.omp_nthreads,
        )
        self._results["out_file"] = os.path.join(runtime.cwd, "t1w_n4.nii.gz")
        corrected.to_filename(self._results["out_file"])
        self._results["provenance"] = provenance
        return runtime
