"""The last step of an image: record its stored outputs in a manifest (:mod:`bids_app.utils.manifest`)."""

from __future__ import annotations

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    Directory,
    File,
    InputMultiObject,
    SimpleInterface,
    TraitedSpec,
    traits,
)

from ..utils.manifest import manifest_path, write_manifest


class _ManifestInputSpec(BaseInterfaceInputSpec):
    base_directory = Directory(mandatory=True, desc="root of the derivatives dataset")
    source_file = File(mandatory=True, desc="the raw T1w")
    desc = traits.Str(mandatory=True, desc="desc entity of the outputs")
    in_files = InputMultiObject(File(exists=True), mandatory=True, desc="every stored output of the T1w")
    metadata = traits.Dict(mandatory=True, desc="source checksum and settings (SourceSHA256, SubsegSettings)")


class _ManifestOutputSpec(TraitedSpec):
    out_file = File(desc="the manifest")


class WriteManifest(SimpleInterface):
    """Write the manifest of one T1w's outputs, after all of them are stored."""

    input_spec = _ManifestInputSpec
    output_spec = _ManifestOutputSpec

    def _run_interface(self, runtime):
        path = manifest_path(self.inputs.base_directory, self.inputs.source_file, self.inputs.desc)
        self._results["out_file"] = str(write_manifest(path, self.inputs.base_directory, self.inputs.in_files,
                                                       self.inputs.metadata))
        return runtime
